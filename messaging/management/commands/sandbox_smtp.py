import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from messaging.email.sandbox import SandboxSmtpHandler


class Command(BaseCommand):
    help = (
        "Run the sandbox's SMTP sink: every email it receives shows in its project's sandbox inbox. "
        "Runs until SIGTERM or Ctrl-C. Needs aiosmtpd (the run command installs it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)

    def handle(self, *args, host, port, **options):
        try:
            from aiosmtpd.controller import Controller
        except ImportError as error:
            raise CommandError(f"The SMTP sink needs aiosmtpd: {error}") from None
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        controller = Controller(SandboxSmtpHandler(), hostname=host, port=port)
        try:
            controller.start()  # returns once the server answers
        except OSError as error:
            raise CommandError(f"The SMTP sink cannot listen on {host}:{port}: {error}") from None
        self.stdout.write(f"Sandbox SMTP sink listening on {host}:{port}", ending="\n")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
