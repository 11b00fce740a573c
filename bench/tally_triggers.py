"""What the tally triggers (messaging 0004) cost the statements they ride on: materialising messages
in bulk, the delivery loop's statements over batches (claim, record outcomes, insert attempts) and
one message at a time (the loop's usual case, timed inside the server), each timed with
the triggers on and off in the same run (off: `ALTER TABLE … DISABLE TRIGGER USER`, the raw figure).

    .venv/bin/python bench/tally_triggers.py [--messages 500000] [--batch 500] [--batches 200]
                                             [--one-by-one 20000] [--rounds 3]

Own database (dm_bench_tally_triggers), dropped at the end. Rounds alternate off and on so that a
change in the machine's load falls on both; the medians are reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, log, make_bench_project, write_result

MATERIALISE_SQL = """
INSERT INTO messaging_message (project_id, public_id, stream_id, channel, customer_id, cause_key,
    template_id, variables, state, attempts, last_error, recovered, created_at, queued_at)
SELECT %(project)s, 'msg_t' || g, %(stream)s, 'email', %(first_customer)s + (g %% %(customers)s),
    'bench:' || g, %(template)s, '{}'::jsonb, 'queued', 0, '', false,
    now() - ((g %% 2880) || ' minutes')::interval, now()
FROM generate_series(1, %(count)s) AS g
"""
CLAIM_SQL = """
UPDATE messaging_message SET state = 'sending', claimed_at = now()
WHERE project_id = %(project)s AND id BETWEEN %(first)s AND %(last)s AND state = 'queued'
"""
OUTCOME_SQL = """
UPDATE messaging_message SET state = CASE WHEN id %% 20 = 0 THEN 'deferred' ELSE 'sent' END,
    attempts = 1, first_attempt_at = now(), sent_at = now(), claimed_at = NULL
WHERE project_id = %(project)s AND id BETWEEN %(first)s AND %(last)s AND state = 'sending'
"""
ATTEMPTS_SQL = """
INSERT INTO messaging_messageattempt (project_id, message_id, stream_id, channel, number, attempted_at,
    outcome, is_final, error, provider_id, duration_ms)
SELECT project_id, id, stream_id, channel, 1, now(),
    CASE WHEN id %% 20 = 0 THEN 'transient' ELSE 'sent' END, false, '', '', 100
FROM messaging_message WHERE project_id = %(project)s AND id BETWEEN %(first)s AND %(last)s
"""
# The delivery loop's statements for one message (claim, outcome, attempt), one statement each as
# the loop writes them, run inside the server so that only their own cost is timed.
ONE_BY_ONE_SQL = """
DO $$
BEGIN
    FOR target IN {first}..{last} LOOP
        UPDATE messaging_message SET state = 'sending', claimed_at = now()
        WHERE project_id = {project} AND id = target AND state = 'queued';
        UPDATE messaging_message SET state = 'sent', attempts = 1, first_attempt_at = now(),
            sent_at = now(), claimed_at = NULL
        WHERE project_id = {project} AND id = target AND state = 'sending';
        INSERT INTO messaging_messageattempt (project_id, message_id, stream_id, channel, number,
            attempted_at, outcome, is_final, error, provider_id, duration_ms)
        VALUES ({project}, target, {stream}, 'email', 1, now(), 'sent', false, '', '', 100);
    END LOOP;
END
$$
"""
TABLES = ("messaging_message", "messaging_messageattempt")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--one-by-one", type=int, default=20_000, help="messages delivered one statement at a time"
    )
    parser.add_argument("--database", default="dm_bench_tally_triggers")
    args = parser.parse_args(argv)

    with bench_database(args.database):
        from django.db import connection

        from bench.generate import load_customers
        from customers.models import Customer
        from messaging.services import message_stream_open, message_template_create

        project, _, _ = make_bench_project("bench-triggers")
        load_customers(project_id=project.pk, count=args.customers)
        first_customer = Customer.objects.for_project(project).order_by("pk").values_list("pk", flat=True)[0]
        stream = message_stream_open(project=project, owner="distribution:distr_bench")
        template = message_template_create(
            project=project,
            channel="email",
            content={"subject": "Hi", "design": {"body": [{"type": "text", "runs": [{"text": "Hi"}]}]}},
        )
        params = {
            "project": project.pk,
            "stream": stream.pk,
            "template": template.pk,
            "first_customer": first_customer,
            "customers": args.customers,
            "count": args.messages,
        }
        figures: dict[str, dict[str, list[float]]] = {
            "materialise": {"off": [], "on": []},
            "claim batch": {"off": [], "on": []},
            "outcome batch": {"off": [], "on": []},
            "attempts batch": {"off": [], "on": []},
            "one message, 3 statements": {"off": [], "on": []},
        }
        with connection.cursor() as cursor:
            for round_number in range(args.rounds):
                for mode in ("off", "on") if round_number % 2 == 0 else ("on", "off"):
                    for table in TABLES:
                        cursor.execute(
                            f"ALTER TABLE {table} {'ENABLE' if mode == 'on' else 'DISABLE'} TRIGGER USER"
                        )
                    cursor.execute(
                        "TRUNCATE messaging_message, messaging_messageattempt, messaging_messagestatetally, "
                        "messaging_attempttally"
                    )
                    began = time.perf_counter()
                    cursor.execute(MATERIALISE_SQL, params)
                    figures["materialise"][mode].append(time.perf_counter() - began)
                    cursor.execute("VACUUM ANALYZE messaging_message")
                    cursor.execute(
                        "SELECT min(id) FROM messaging_message WHERE project_id = %s", [project.pk]
                    )
                    first = cursor.fetchone()[0]
                    for name, sql in (
                        ("claim batch", CLAIM_SQL),
                        ("outcome batch", OUTCOME_SQL),
                        ("attempts batch", ATTEMPTS_SQL),
                    ):
                        timings = []
                        for number in range(args.batches):
                            low = first + number * args.batch
                            began = time.perf_counter()
                            cursor.execute(sql, {**params, "first": low, "last": low + args.batch - 1})
                            timings.append(time.perf_counter() - began)
                        figures[name][mode].append(statistics.median(timings))
                    low = first + args.batches * args.batch
                    count = min(args.one_by_one, args.messages - args.batches * args.batch)
                    began = time.perf_counter()
                    cursor.execute(
                        ONE_BY_ONE_SQL.format(
                            first=int(low),
                            last=int(low + count - 1),
                            project=int(project.pk),
                            stream=int(stream.pk),
                        )
                    )
                    figures["one message, 3 statements"][mode].append((time.perf_counter() - began) / count)
                    log(
                        f"round {round_number + 1}, triggers {mode}: materialise "
                        f"{figures['materialise'][mode][-1]:.1f} s, batches (ms) "
                        + ", ".join(
                            f"{name} {figures[name][mode][-1] * 1000:.2f}"
                            for name in figures
                            if name != "materialise"
                        )
                    )
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        summary = {
            name: {
                "off": round(statistics.median(by_mode["off"]), 4),
                "on": round(statistics.median(by_mode["on"]), 4),
                "ratio": round(statistics.median(by_mode["on"]) / statistics.median(by_mode["off"]), 2),
            }
            for name, by_mode in figures.items()
        }
        for name, figure in summary.items():
            log(f"{name:16} off {figure['off']:.4f} s  on {figure['on']:.4f} s  ratio {figure['ratio']}")
        result = {"arguments": vars(args), "raw": figures, "summary": summary}
        write_result("tally_triggers", result)
        return result


if __name__ == "__main__":
    main()
