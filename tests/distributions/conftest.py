from tests.support.messaging import endpoint, local_project, receiver  # noqa: F401
