from tests.support.messaging import local_project, receiver, stream  # noqa: F401
from tests.support.providers import sms_provider, sms_template  # noqa: F401
