from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns.validation_rules import register_segment_lookup, register_segment_membership
        from segments import realtime  # noqa: F401  (registers the membership re-check handler)
        from segments.selectors import segment_ids_existing, segment_ids_of_customer

        # The `customer.segment` validation rule reads stored membership, and names only segments
        # of the rule's project.
        register_segment_membership(
            lambda project, customer: segment_ids_of_customer(project=project, customer=customer)
        )
        register_segment_lookup(lambda project, ids: segment_ids_existing(project=project, segment_ids=ids))
