"""Server time of the dashboard's distribution pages in a big project (issue 7's target: every page
under 300 ms with 1,000 distributions and 1,000,000 messages).

    .venv/bin/python bench/dashboard_pages.py [--distributions 1000] [--messages 1000000]
                                              [--customers 100000] [--requests 20]
                                              [--database dm_bench_dashboard_pages] [--keep]

Creates and migrates its own database, COPYs the customers in (bench/generate.py), generates the
campaign's codes through `campaigns.codes`, and inserts the rest in SQL with `generate_series`:
the distributions (half automatic: live, paused or ended; half manual: sent, scheduled, sending,
canceled or draft), their channels, streams and activity lines; the messages spread over 30 days
(a fifth of them in one "big" distribution, the rest evenly), one attempt each and a second one for
the recovered; a publication per code and redemptions of a fifth of those codes.

Then, with Django's test client signed in as the owner (so the figures are server time: routing,
middleware, queries and templates, no network), requests each page `--requests` times after two
warm-up requests and reports the median, p95 and the query count: the list (first page, a later
page, a text search, a date range), every tab of the big distribution and of an ordinary one, the
analytics tab over each range, and the campaign page whose Distributions tab lists them all. The
slowest queries of the slowest page are printed with their plans (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

TARGET_MS = 300
COUNTED_TABLES = (
    "distributions_distribution",
    "messaging_message",
    "messaging_messageattempt",
    "campaigns_publication",
    "campaigns_redemption",
    "messaging_messagestatetally",
    "messaging_attempttally",
    "campaigns_publicationtally",
)

DISTRIBUTIONS_SQL = """
INSERT INTO distributions_distribution (project_id, public_id, name, kind, trigger_key, trigger_params,
    event_type, audience, action_key, action_params, status, send_at, sending_started_at, sent_at,
    paused_reason, paused_from, stream_public_id, created_at, updated_at, created_by_id, materialised_at)
SELECT %(project)s, 'distr_bench_' || lpad(n::text, 6, '0'),
    CASE WHEN n %% 2 = 0 THEN 'Newsletter ' ELSE 'Thank you for order ' END || n,
    CASE WHEN n %% 2 = 0 THEN 'manual' ELSE 'automatic' END,
    CASE WHEN n %% 2 = 0 THEN 'manual' ELSE 'order_paid' END,
    CASE WHEN n %% 2 = 0 THEN '{}'::jsonb ELSE jsonb_build_object('validation_rule', %(rule)s) END,
    CASE WHEN n %% 2 = 0 THEN 'manual_distribution_schedule' ELSE 'customer.order.paid' END,
    CASE WHEN n %% 2 = 0 THEN jsonb_build_object('type', 'segment', 'segment', %(segment)s)
         ELSE '{}'::jsonb END,
    'publish_codes', jsonb_build_object('campaign', %(campaign)s),
    s.status,
    CASE WHEN n %% 2 = 0 AND s.status <> 'draft' THEN s.created + interval '10 minutes' END,
    CASE WHEN s.status IN ('sent', 'sending') THEN s.created + interval '10 minutes' END,
    CASE WHEN s.status = 'sent' THEN s.created + interval '40 minutes' END,
    '', CASE WHEN s.status = 'paused' THEN 'live' ELSE '' END,
    CASE WHEN s.status IN ('draft', 'scheduled', 'canceled') THEN ''
         ELSE 'strm_bench_' || lpad(n::text, 6, '0') END,
    s.created, s.created, %(user)s,
    CASE WHEN s.status IN ('sent', 'sending') THEN s.created + interval '11 minutes' END
FROM generate_series(1, %(count)s) AS n
CROSS JOIN LATERAL (SELECT CASE
    WHEN n = 1 THEN 'live'
    WHEN n %% 2 = 1 THEN (ARRAY['live', 'live', 'live', 'paused', 'ended'])[1 + (n / 2) %% 5]
    WHEN n = 2 THEN 'sending'
    ELSE (ARRAY['sent', 'sent', 'sent', 'sent', 'sent', 'scheduled', 'draft', 'canceled'])[1 + (n / 2) %% 8]
END AS status, now() - interval '31 days' - (n || ' minutes')::interval AS created) AS s
"""

STREAMS_SQL = """
INSERT INTO messaging_messagestream (project_id, public_id, owner, state, paused_reason, created_at,
    updated_at)
SELECT project_id, stream_public_id, 'distribution:' || public_id,
    CASE WHEN status = 'paused' THEN 'paused' ELSE 'open' END, '', created_at, created_at
FROM distributions_distribution WHERE project_id = %(project)s AND stream_public_id <> ''
"""

CHANNELS_SQL = """
INSERT INTO distributions_distributionchannel (project_id, distribution_id, kind, settings, template,
    position, message_template_id)
SELECT d.project_id, d.id, c.kind, '{}'::jsonb, c.template, c.position, c.message_template
FROM distributions_distribution d
CROSS JOIN (VALUES
    ('email', '{"subject": "Your code inside", "body": "Hello {{customer.name}}"}'::jsonb, 0,
     %(email_template)s),
    ('webhook', '{"event_name": "order.thanks", "payload": {"code": "{{voucher.code}}"}}'::jsonb, 1,
     %(webhook_template)s)
) AS c(kind, template, position, message_template)
WHERE d.project_id = %(project)s AND (c.kind = 'email' OR d.id %% 3 = 0)
"""

ACTIVITY_SQL = """
INSERT INTO distributions_distributionactivity (project_id, distribution_id, kind, actor_id, actor_label,
    message, data, created_at)
SELECT d.project_id, d.id, a.kind, %(user)s, 'owner@bench', a.message, '{}'::jsonb,
    d.created_at + a.after
FROM distributions_distribution d
CROSS JOIN (VALUES ('created', 'Created as a draft.', interval '0'),
                   ('updated', 'Edited: channels, name.', interval '2 minutes'),
                   ('live', 'Set live.', interval '5 minutes')) AS a(kind, message, after)
WHERE d.project_id = %(project)s
"""

# Message g belongs to the big distribution's stream for the first fifth, then to the others in turn.
MESSAGES_SQL = """
WITH streams AS (
    SELECT row_number() OVER (ORDER BY s.id) - 1 AS slot, s.id, c.kind AS channel, c.message_template_id
    FROM messaging_messagestream s
    JOIN distributions_distribution d ON d.project_id = s.project_id AND d.stream_public_id = s.public_id
    JOIN distributions_distributionchannel c ON c.distribution_id = d.id AND c.kind = 'email'
    WHERE s.project_id = %(project)s AND d.public_id <> %(big)s
), big AS (
    SELECT s.id, c.message_template_id
    FROM messaging_messagestream s
    JOIN distributions_distribution d ON d.project_id = s.project_id AND d.stream_public_id = s.public_id
    JOIN distributions_distributionchannel c ON c.distribution_id = d.id AND c.kind = 'email'
    WHERE s.project_id = %(project)s AND d.public_id = %(big)s
), counted AS (SELECT count(*) AS n FROM streams)
INSERT INTO messaging_message (project_id, public_id, stream_id, channel, customer_id, cause_key,
    template_id, variables, state, attempts, first_attempt_at, last_error, recovered, created_at,
    queued_at, sent_at)
SELECT %(project)s, 'msg_bench_' || g,
    CASE WHEN g <= %(big_count)s THEN big.id ELSE streams.id END, 'email',
    %(first_customer)s + (g %% %(customers)s), 'bench:' || g,
    CASE WHEN g <= %(big_count)s THEN big.message_template_id ELSE streams.message_template_id END,
    '{}'::jsonb, m.state,
    CASE WHEN m.state IN ('queued', 'skipped') THEN 0 WHEN g %% 20 = 1 THEN 2 ELSE 1 END,
    CASE WHEN m.state IN ('queued', 'skipped') THEN NULL ELSE m.at END,
    CASE m.state WHEN 'failed' THEN 'HTTP 503' WHEN 'skipped' THEN 'no_email' ELSE '' END,
    m.state = 'sent' AND g %% 20 = 1, m.at, m.at, CASE WHEN m.state = 'sent' THEN m.at END
FROM generate_series(1, %(count)s) AS g
CROSS JOIN big CROSS JOIN counted
LEFT JOIN streams ON streams.slot = g %% counted.n
CROSS JOIN LATERAL (SELECT
    CASE g %% 20 WHEN 17 THEN 'failed' WHEN 18 THEN 'skipped' WHEN 19 THEN 'queued' ELSE 'sent' END AS state,
    now() - ((g::bigint * 7919) %% (30 * 24 * 3600) || ' seconds')::interval AS at) AS m
"""

ATTEMPTS_SQL = """
INSERT INTO messaging_messageattempt (project_id, message_id, stream_id, channel, number, attempted_at,
    outcome, is_final, error, provider_id, duration_ms)
SELECT m.project_id, m.id, m.stream_id, m.channel, a.number,
    m.first_attempt_at + (a.number - 1) * interval '5 minutes',
    CASE WHEN a.number < m.attempts THEN 'transient' WHEN m.state = 'sent' THEN 'sent' ELSE 'permanent' END,
    a.number = m.attempts AND m.state = 'failed',
    CASE WHEN a.number < m.attempts OR m.state = 'failed' THEN 'HTTP 503' ELSE '' END, '', 120
FROM messaging_message m CROSS JOIN LATERAL generate_series(1, m.attempts) AS a(number)
WHERE m.project_id = %(project)s
"""

# The first messages (by id: the big distribution's) each published one code, paired by rank.
PUBLICATIONS_SQL = """
WITH v AS (
    SELECT id, campaign_id, row_number() OVER (ORDER BY id) AS k FROM campaigns_voucher
    WHERE project_id = %(project)s AND campaign_id = %(campaign_id)s
), m AS (
    SELECT id, customer_id, stream_id, cause_key, created_at, row_number() OVER (ORDER BY id) AS k
    FROM messaging_message WHERE project_id = %(project)s ORDER BY id LIMIT %(codes)s
), owner AS MATERIALIZED (
    -- Each stream's distribution, looked up once (joined per message, it was a loop over 1,000 rows).
    SELECT s.id AS stream_id, d.id AS distribution_id
    FROM messaging_messagestream s
    JOIN distributions_distribution d ON d.project_id = s.project_id AND d.stream_public_id = s.public_id
    WHERE s.project_id = %(project)s
)
INSERT INTO campaigns_publication (project_id, public_id, voucher_id, campaign_id, customer_id, channel,
    metadata, slot, distribution_id, cause_key, created_at)
SELECT %(project)s, 'pub_bench_' || v.id, v.id, v.campaign_id, m.customer_id, 'API', '{}'::jsonb, 0,
    owner.distribution_id, m.cause_key, m.created_at
FROM v JOIN m ON m.k = v.k JOIN owner ON owner.stream_id = m.stream_id
"""

REDEMPTIONS_SQL = """
INSERT INTO campaigns_redemption (project_id, public_id, object, result, status, related_object_type,
    related_object_id, voucher_code, amount, metadata, channel_type, created_at, campaign_id, customer_id,
    voucher_id)
SELECT p.project_id, 'r_bench_' || p.id, 'redemption', 'SUCCESS', 'SUCCEEDED', 'voucher', v.public_id, v.code,
    10000, '{}'::jsonb, 'API', p.created_at + interval '1 day', p.campaign_id, p.customer_id, p.voucher_id
FROM campaigns_publication p JOIN campaigns_voucher v ON v.id = p.voucher_id
WHERE p.project_id = %(project)s AND p.id %% 5 = 0
"""


# The raw operations the tallies replace, timed in the same run: the direct counts over the big
# distribution's rows that its analytics ran before (30 days, by day, project time zone UTC).
RAW_COUNTS_SQL = {
    "messages per channel and state (direct count)": """
        SELECT channel, state, count(*), count(*) FILTER (WHERE recovered) FROM messaging_message
        WHERE project_id = %(project)s AND stream_id = %(stream)s GROUP BY 1, 2""",
    "attempts per day and channel, 30 days (direct count)": """
        SELECT date_trunc('day', attempted_at AT TIME ZONE 'UTC'), channel,
            count(*) FILTER (WHERE outcome = 'sent'), count(*) FILTER (WHERE is_final),
            count(*) FILTER (WHERE outcome = 'sent' AND number > 1)
        FROM messaging_messageattempt
        WHERE project_id = %(project)s AND stream_id = %(stream)s
            AND attempted_at >= now() - interval '30 days'
        GROUP BY 1, 2""",
    "codes published and redeemed, 30 days (direct count)": """
        SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM campaigns_redemption r
            WHERE r.project_id = p.project_id AND r.voucher_id = p.voucher_id AND r.object = 'redemption'
            AND r.result = 'SUCCESS'))
        FROM campaigns_publication p
        WHERE p.project_id = %(project)s AND p.distribution_id = %(distribution)s
            AND p.created_at >= now() - interval '30 days'""",
}


def _time_raw_counts(ids: dict, repeats: int = 5) -> dict[str, float]:
    from django.db import connection, transaction

    figures = {}
    for label, sql in RAW_COUNTS_SQL.items():
        timings = []
        for _ in range(repeats):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
                began = time.perf_counter()
                cursor.execute(sql, ids)
                cursor.fetchall()
                timings.append((time.perf_counter() - began) * 1000)
        figures[label] = round(statistics.median(timings), 1)
    return figures


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _measure(client, url: str, requests: int, headers: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        assert client.get(url, secure=True, **headers).status_code == 200, url
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url, secure=True, **headers)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as captured:
        client.get(url, secure=True, **headers)
    return {
        "url": url,
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(_percentile(timings, 0.95), 1),
        "max_ms": round(max(timings), 1),
        "queries": len(captured),
        "slowest_queries": sorted(
            ({"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"]} for q in captured.captured_queries),
            key=lambda q: -q["ms"],
        )[:3],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--distributions", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument(
        "--big-messages",
        type=int,
        default=None,
        help="messages of the one big distribution (default: a fifth of --messages)",
    )
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", default="dm_bench_dashboard_pages")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)

    with bench_database(args.database, keep=args.keep):
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from bench.generate import load_customers
        from campaigns import codes
        from campaigns.services import campaign_create
        from campaigns.tallies import publication_tallies_compact
        from campaigns.validation_rules.services import validation_rule_create
        from customers.models import Customer
        from messaging.services import message_template_create
        from messaging.tallies import tallies_compact
        from segments.services import segment_create
        from webhooks_out.services import seed_webhooks

        project, app_id, token = make_bench_project("bench-pages")
        owner = get_user_model().objects.get(username="owner@bench-pages.bench.example")
        timings: dict[str, float] = {}

        def step(name: str, sql: str | None = None, params: dict | None = None, action=None) -> None:
            began = time.perf_counter()
            if sql is not None:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params or {})
            else:
                action()
            timings[name] = round(time.perf_counter() - began, 1)
            log(f"{name}: {timings[name]} s")

        log(f"loading {args.customers:,} customers")
        load_customers(project_id=project.pk, count=args.customers)
        first_customer = Customer.objects.for_project(project).order_by("pk").values_list("pk", flat=True)[0]
        campaign = campaign_create(
            project=project,
            fields={
                "name": "Bench Black Friday",
                "campaign_type": "DISCOUNT_COUPONS",
                "type": "STATIC",
                "voucher": {"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 20}},
            },
        )
        step("codes", action=lambda: codes.generate_codes(campaign=campaign, count=args.codes))
        rule = validation_rule_create(
            project=project,
            fields={
                "name": "Order paid over $99",
                "rules": {
                    "1": {"name": "order.amount", "conditions": {"$more_than": [9900]}, "rules": {}},
                    "logic": "1",
                },
            },
        )
        segment = segment_create(project=project, name="Bench newsletter readers", type="static")
        email = message_template_create(
            project=project,
            channel="email",
            content={
                "subject": "Your code",
                "design": {"body": [{"type": "text", "runs": [{"text": "Hi"}]}]},
            },
        )
        webhook = message_template_create(
            project=project,
            channel="webhook",
            content={
                "endpoint": seed_webhooks(project).public_id,
                "event_name": "order.thanks",
                "payload": {},
            },
        )
        ids = {
            "project": project.pk,
            "user": owner.pk,
            "campaign": campaign.public_id,
            "campaign_id": campaign.pk,
            "rule": rule.public_id,
            "segment": segment.public_id,
            "email_template": email.pk,
            "webhook_template": webhook.pk,
            "count": args.distributions,
            "codes": args.codes,
        }
        step("distributions", DISTRIBUTIONS_SQL, ids)
        step("streams", STREAMS_SQL, ids)
        step("channels", CHANNELS_SQL, ids)
        step("activity", ACTIVITY_SQL, ids)
        big = "distr_bench_000001"
        step(
            "messages",
            MESSAGES_SQL,
            {
                **ids,
                "big": big,
                "big_count": args.big_messages if args.big_messages is not None else args.messages // 5,
                "count": args.messages,
                "first_customer": first_customer,
                "customers": args.customers,
            },
        )
        step("attempts", ATTEMPTS_SQL, ids)
        step("publications", PUBLICATIONS_SQL, ids)
        step("redemptions", REDEMPTIONS_SQL, ids)
        # What the beat sweeps do every minute: fold the rows the tally triggers wrote into compact ones.
        step("tally compaction", action=lambda: (tallies_compact(), publication_tallies_compact()))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            counts = {}
            for table in COUNTED_TABLES:
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our own table names)
                counts[table] = cursor.fetchone()[0]
        log(f"data: {counts}")

        # Production settings (DEBUG off): hashed static files as deployed, the test client's host let
        # in, and HTTPS as behind the proxy.
        call_command("collectstatic", "--noinput", verbosity=0)
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(owner)
        client.get("/", secure=True)
        ordinary = "distr_bench_000005"  # an automatic one with a stream of its own, about 1/700 of the rest
        pages = {
            "list": "/distributions/",
            "list, page 10": "/distributions/?page=10",
            "list, text search": "/distributions/?q=order+1",
            "list, date range and status": "/distributions/?created_from=2000-01-01&created_to=2100-01-01"
            "&status=sent",
        }
        for label, public_id in (("big", big), ("ordinary", ordinary)):
            page = f"/distributions/{public_id}/"
            pages[f"{label}: details"] = page
            pages[f"{label}: audience"] = page + "?tab=audience"
            for chosen in ("24h", "7d", "30d", "all"):
                pages[f"{label}: analytics {chosen}"] = page + f"?tab=analytics&range={chosen}"
            pages[f"{label}: activity"] = page + "?tab=activity"
            pages[f"{label}: activity, lifecycle only"] = page + "?tab=activity&kind=live"
        pages["campaign page (Distributions tab)"] = f"/campaigns/{campaign.public_id}/"
        # The analytics API's report (with every message state and the skipped reasons), big distribution.
        api = f"/v1/distributions/{big}/analytics"
        pages["big: analytics API, 30 days by day"] = (
            api
            + "?interval=day&start_date="
            + ((timezone.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        )
        pages["big: analytics API, all time by day"] = api + "?interval=day"
        pages["big: analytics API, 24 hours by hour"] = (
            api
            + "?interval=hour&start_date="
            + ((timezone.now() - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        )
        api_headers = {"HTTP_X_APP_ID": app_id, "HTTP_X_APP_TOKEN": token}
        results = {}
        for label, url in pages.items():
            results[label] = _measure(
                client, url, args.requests, api_headers if url.startswith("/v1/") else {}
            )
            figures = results[label]
            log(
                f"{label:40} median {figures['median_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
                f"{figures['queries']} queries"
            )
        from distributions.models import Distribution
        from messaging.models import MessageStream

        big_distribution = Distribution.objects.for_project(project).get(public_id=big)
        raw = _time_raw_counts(
            {
                "project": project.pk,
                "stream": MessageStream.objects.for_project(project)
                .get(public_id=big_distribution.stream_public_id)
                .pk,
                "distribution": big_distribution.pk,
            }
        )
        for label, median in raw.items():
            log(f"raw: {label:55} median {median:7.1f} ms")
        slowest = max(results, key=lambda label: results[label]["p95_ms"])
        plans = []
        with connection.cursor() as cursor:
            for query in results[slowest]["slowest_queries"][:2]:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plans.append({"sql": query["sql"], "plan": [row[0] for row in cursor.fetchall()]})
        log(f"slowest page: {slowest}")
        for plan in plans:
            log(plan["sql"][:300])
            print("\n".join(line[:160] for line in plan["plan"]))
        result = {
            "arguments": vars(args),
            "data": counts,
            "load_seconds": timings,
            "pages": results,
            "raw_counts_ms": raw,
            "slowest_page": slowest,
            "slowest_plans": plans,
            "target_ms": TARGET_MS,
            "all_under_target": all(r["p95_ms"] < TARGET_MS for r in results.values()),
        }
        write_result("dashboard_pages", result)
        return result


if __name__ == "__main__":
    main()
