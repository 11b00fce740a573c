from tests.support.messaging import endpoint, local_project, receiver, stream, template  # noqa: F401
