"""Each action unit's schema, preview, validate and execute against moto (and the fake Slack)."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from moto import mock_aws
from slack_sdk import WebClient

from bot.store import open_store
from bot.store.approvals import list_spend_approvals
from tests.approval_samples import T0
from tools.actions import ACTIONS
from tools.actions.base import ActionContext, ActionError, ParamError, TargetChanged


@pytest.fixture
def session(monkeypatch):
    # moto would otherwise load hundreds of public AMIs into every fresh EC2 backend
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def ctx(session):
    return ActionContext(
        session=session, now=T0, request_id="apr-1", requested_by="U1", approved_by="U2"
    )


def run_instances(session, count=1, itype="t3.micro"):
    ec2 = session.client("ec2")
    found = ec2.run_instances(
        ImageId="ami-12345678", MinCount=count, MaxCount=count, InstanceType=itype
    )
    return [i["InstanceId"] for i in found["Instances"]]


def ec2_state(session, iid):
    reservations = session.client("ec2").describe_instances(InstanceIds=[iid])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def create_db(session, db_id="orders-db", multi_az=False):
    session.client("rds").create_db_instance(
        DBInstanceIdentifier=db_id,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        MultiAZ=multi_az,
    )
    return db_id


def db_status(session, db_id):
    return session.client("rds").describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][
        0
    ]["DBInstanceStatus"]


# -- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("stop_ec2_instances", {"instance_ids": ["i-xyz"]}, "matching i-[0-9a-f]{8,17}"),
        ("stop_ec2_instances", {}, "needs instance_ids"),
        (
            "stop_ec2_instances",
            {"instance_ids": ["i-0123456789abcdef0"], "force": True},
            "does not take force; valid: instance_ids",
        ),
        (
            "reboot_rds_instance",
            {"db_instance_id": "db1", "force_failover": "yes"},
            "true or false",
        ),
        (
            "apply_s3_lifecycle",
            {"bucket": "logs-bucket"},
            "needs --glacier-days, --expire-days or both",
        ),
        (
            "apply_s3_lifecycle",
            {"bucket": "logs-bucket", "glacier_days": 30, "expire_days": 10},
            "must be later",
        ),
        ("apply_s3_lifecycle", {"bucket": "logs-bucket", "glacier_days": 0}, "at least 1"),
        ("apply_s3_lifecycle", {"bucket": "Bad_Bucket", "glacier_days": 3}, "does not match"),
        ("approve_spend", {"amount_usd": -5, "purpose": "gpu"}, "at least 0.01"),
        ("approve_spend", {"amount_usd": "lots", "purpose": "gpu"}, "must be a number"),
        (
            "chain",
            {"steps": [{"action": "nuke", "params": {}}]},
            "unknown action 'nuke'; valid: apply_s3_lifecycle",
        ),
        ("chain", {"steps": []}, "chain takes steps"),
        ("chain", {"steps": [{"action": "chain", "params": {}}]}, "unknown action 'chain'"),
    ],
)
def test_bad_parameters_name_the_valid_choices(action, params, message):
    with pytest.raises(ParamError) as err:
        ACTIONS[action].check_params(params)
    assert message in str(err.value)


def test_parameters_are_normalised():
    unit = ACTIONS["stop_ec2_instances"]
    ids = unit.check_params({"instance_ids": ["i-0123456789abcdef0", "i-0123456789abcdef0"]})
    assert ids == {"instance_ids": ["i-0123456789abcdef0"]}
    assert ACTIONS["reboot_rds_instance"].check_params({"db_instance_id": "db1"}) == {
        "db_instance_id": "db1",
        "force_failover": False,
    }


def test_every_unit_declares_its_contract():
    for name, unit in ACTIONS.items():
        assert unit.name == name
        assert unit.risk in ("low", "medium", "high")
        assert unit.__doc__


# -- EC2 --------------------------------------------------------------------------------------


def test_stop_ec2_preview_validate_execute(session, ctx):
    running, stopped = run_instances(session, 2, "m5.large")
    session.client("ec2").stop_instances(InstanceIds=[stopped])
    unit = ACTIONS["stop_ec2_instances"]
    params = unit.check_params({"instance_ids": [running, stopped]})
    preview = unit.preview(ctx, params)
    assert preview.expected == {running: "running", stopped: "stopped"}
    assert preview.monthly_usd_effect == -70.08  # one m5.large, 0.096 x 730
    assert "Stop 1 of 2" in preview.summary
    unit.validate(ctx, params, preview.expected)
    outcomes = unit.execute(ctx, params, dry_run=False)
    assert {(o.resource_id, o.status) for o in outcomes} == {(running, "ok"), (stopped, "skipped")}
    assert ec2_state(session, running) == "stopped"


def test_stop_ec2_dry_run_uses_aws_dry_run_and_changes_nothing(session, ctx):
    [iid] = run_instances(session)
    unit = ACTIONS["stop_ec2_instances"]
    outcomes = unit.execute(ctx, {"instance_ids": [iid]}, dry_run=True)
    assert [(o.status, o.detail) for o in outcomes] == [
        ("ok", "DRY RUN: would stop (AWS permission check passed)")
    ]
    assert ec2_state(session, iid) == "running"


def test_dry_run_permission_problem_is_reported(ctx):
    from botocore.stub import Stubber

    unit = ACTIONS["stop_ec2_instances"]
    iid = "i-0123456789abcdef0"
    ec2 = boto3.Session(region_name="us-east-1").client("ec2")
    stub = Stubber(ec2)
    stub.add_response(
        "describe_instances",
        {
            "Reservations": [
                {"Instances": [{"InstanceId": iid, "State": {"Name": "running", "Code": 16}}]}
            ]
        },
    )
    stub.add_client_error("stop_instances", "UnauthorizedOperation", "You are not authorized")
    stub.activate()
    ctx.client = lambda service: ec2
    [outcome] = unit.execute(ctx, {"instance_ids": [iid]}, dry_run=True)
    assert outcome.status == "error"
    assert outcome.detail == "permission problem: UnauthorizedOperation (needs ec2:StopInstances)"


def test_start_ec2(session, ctx):
    [iid] = run_instances(session)
    session.client("ec2").stop_instances(InstanceIds=[iid])
    unit = ACTIONS["start_ec2_instances"]
    preview = unit.preview(ctx, {"instance_ids": [iid]})
    assert preview.monthly_usd_effect == 7.59
    [outcome] = unit.execute(ctx, {"instance_ids": [iid]}, dry_run=False)
    assert outcome.status == "ok" and ec2_state(session, iid) == "running"


def test_ec2_missing_instance_is_refused_at_preview(ctx):
    with pytest.raises(ActionError, match="not found"):
        ACTIONS["stop_ec2_instances"].preview(ctx, {"instance_ids": ["i-0123456789abcdef0"]})


def test_ec2_validate_notices_a_changed_state(session, ctx):
    [iid] = run_instances(session)
    unit = ACTIONS["stop_ec2_instances"]
    preview = unit.preview(ctx, {"instance_ids": [iid]})
    session.client("ec2").stop_instances(InstanceIds=[iid])
    with pytest.raises(TargetChanged, match=f"{iid} is now stopped \\(the card showed running\\)"):
        unit.validate(ctx, {"instance_ids": [iid]}, preview.expected)


def test_ec2_validate_notices_a_terminated_instance(session, ctx):
    [iid] = run_instances(session)
    unit = ACTIONS["stop_ec2_instances"]
    preview = unit.preview(ctx, {"instance_ids": [iid]})
    session.client("ec2").terminate_instances(InstanceIds=[iid])
    with pytest.raises(TargetChanged, match="terminated"):
        unit.validate(ctx, {"instance_ids": [iid]}, preview.expected)


# -- RDS --------------------------------------------------------------------------------------


def test_stop_and_start_rds(session, ctx):
    db_id = create_db(session)
    stop = ACTIONS["stop_rds_instance"]
    preview = stop.preview(ctx, {"db_instance_id": db_id})
    assert preview.expected == {db_id: "available"} and preview.monthly_usd_effect == -13.14
    stop.validate(ctx, {"db_instance_id": db_id}, preview.expected)
    [outcome] = stop.execute(ctx, {"db_instance_id": db_id}, dry_run=False)
    assert outcome.status == "ok" and db_status(session, db_id) == "stopped"
    start = ACTIONS["start_rds_instance"]
    with pytest.raises(ActionError, match="is stopped; it must be available"):
        stop.preview(ctx, {"db_instance_id": db_id})
    start.execute(ctx, {"db_instance_id": db_id}, dry_run=False)
    assert db_status(session, db_id) == "available"


def test_reboot_rds_dry_run_describes_the_call(session, ctx):
    db_id = create_db(session, multi_az=True)
    unit = ACTIONS["reboot_rds_instance"]
    params = unit.check_params({"db_instance_id": db_id, "force_failover": True})
    unit.preview(ctx, params)
    [outcome] = unit.execute(ctx, params, dry_run=True)
    assert (
        outcome.detail
        == "DRY RUN: would call RebootDBInstance(DBInstanceIdentifier='orders-db', ForceFailover=True)"
    )
    assert db_status(session, db_id) == "available"


def test_reboot_rds_failover_needs_multi_az(session, ctx):
    db_id = create_db(session)
    unit = ACTIONS["reboot_rds_instance"]
    with pytest.raises(ParamError, match="single-AZ"):
        unit.preview(ctx, unit.check_params({"db_instance_id": db_id, "force_failover": True}))


def test_reboot_rds_runs(session, ctx):
    db_id = create_db(session)
    unit = ACTIONS["reboot_rds_instance"]
    params = unit.check_params({"db_instance_id": db_id})
    assert unit.preview(ctx, params).monthly_usd_effect == 0.0
    [outcome] = unit.execute(ctx, params, dry_run=False)
    assert outcome.status == "ok"


def test_rds_validate_notices_a_deleted_instance(session, ctx):
    db_id = create_db(session)
    unit = ACTIONS["stop_rds_instance"]
    preview = unit.preview(ctx, {"db_instance_id": db_id})
    session.client("rds").delete_db_instance(DBInstanceIdentifier=db_id, SkipFinalSnapshot=True)
    with pytest.raises(TargetChanged, match="not found"):
        unit.validate(ctx, {"db_instance_id": db_id}, preview.expected)


# -- S3 ---------------------------------------------------------------------------------------


def lifecycle(session, bucket):
    return session.client("s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]


def test_s3_lifecycle_merges_with_existing_rules(session, ctx):
    s3 = session.client("s3")
    s3.create_bucket(Bucket="logs-bucket")
    s3.put_bucket_lifecycle_configuration(
        Bucket="logs-bucket",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "tmp-cleanup",
                    "Filter": {"Prefix": "tmp/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 7},
                },
                {
                    "ID": "old-logs",
                    "Filter": {"Prefix": "logs/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 900},
                },
            ]
        },
    )
    unit = ACTIONS["apply_s3_lifecycle"]
    params = unit.check_params(
        {"bucket": "logs-bucket", "prefix": "logs/", "glacier_days": 30, "expire_days": 365}
    )
    assert unit.risk_for(params) == "high"
    preview = unit.preview(ctx, params)
    text = "\n".join(preview.current_state)
    assert "`tmp-cleanup` tmp/: expire after 7 d" in text
    assert "replaces old-logs; 1 other rule(s) kept" in text
    unit.validate(ctx, params, preview.expected)
    [outcome] = unit.execute(ctx, params, dry_run=False)
    assert outcome.status == "ok"
    rules = {r["ID"]: r for r in lifecycle(session, "logs-bucket")}
    assert set(rules) == {"tmp-cleanup", "penny-logs/"}
    assert rules["penny-logs/"]["Transitions"][0]["Days"] == 30
    assert rules["penny-logs/"]["Expiration"]["Days"] == 365
    assert rules["tmp-cleanup"]["Expiration"]["Days"] == 7


def test_s3_lifecycle_on_bucket_without_rules_and_dry_run(session, ctx):
    session.client("s3").create_bucket(Bucket="data-bucket")
    unit = ACTIONS["apply_s3_lifecycle"]
    params = unit.check_params({"bucket": "data-bucket", "glacier_days": 30})
    assert unit.risk_for(params) == "medium"
    assert "No lifecycle rules yet." in unit.preview(ctx, params).current_state
    [outcome] = unit.execute(ctx, params, dry_run=True)
    assert outcome.detail.startswith("DRY RUN: would write 1 rule(s)")
    with pytest.raises(Exception, match="NoSuchLifecycleConfiguration"):
        lifecycle(session, "data-bucket")


def test_s3_lifecycle_refuses_when_rules_changed_after_preview(session, ctx):
    s3 = session.client("s3")
    s3.create_bucket(Bucket="data-bucket")
    unit = ACTIONS["apply_s3_lifecycle"]
    params = unit.check_params({"bucket": "data-bucket", "glacier_days": 30})
    preview = unit.preview(ctx, params)
    s3.put_bucket_lifecycle_configuration(
        Bucket="data-bucket",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "x",
                    "Filter": {"Prefix": "a/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 3},
                }
            ]
        },
    )
    with pytest.raises(TargetChanged, match="changed since the card was posted"):
        unit.validate(ctx, params, preview.expected)


def test_s3_missing_bucket(ctx):
    with pytest.raises(ActionError, match="does not exist"):
        ACTIONS["apply_s3_lifecycle"].preview(ctx, {"bucket": "no-such-bucket", "glacier_days": 3})


# -- records, Slack, chains ---------------------------------------------------------------------


def test_approve_spend_records_once(ctx):
    store = open_store(":memory:")
    ctx.store = store
    unit = ACTIONS["approve_spend"]
    params = unit.check_params(
        {"amount_usd": "1500", "purpose": "GPU training run", "service": "Amazon EC2"}
    )
    assert "$1,500.00" in unit.preview(ctx, params).summary
    assert unit.execute(ctx, params, dry_run=True)[0].detail.startswith("DRY RUN")
    assert list_spend_approvals(store, T0 - timedelta(days=1)) == []
    assert unit.execute(ctx, params, dry_run=False)[0].status == "ok"
    assert unit.execute(ctx, params, dry_run=False)[0].status == "skipped"
    [row] = list_spend_approvals(store, T0 - timedelta(days=1))
    assert (row["amount_usd"], row["approved_by"], row["request_id"]) == (1500.0, "U2", "apr-1")


def test_post_incident_summary(ctx, fake_slack):
    ctx.slack = WebClient(token="xoxb-test", base_url=fake_slack.url)
    unit = ACTIONS["post_incident_summary"]
    params = unit.check_params({"channel": "C0INCIDENT", "text": "DB rebooted at 14:02."})
    assert unit.execute(ctx, params, dry_run=True)[0].status == "ok"
    assert fake_slack.calls_to("chat.postMessage") == []
    assert unit.execute(ctx, params, dry_run=False)[0].status == "ok"
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body["channel"] == "C0INCIDENT" and call.body["text"] == "DB rebooted at 14:02."


def test_chain_runs_in_order_and_reports_each_step(session, ctx, fake_slack):
    ctx.slack = WebClient(token="xoxb-test", base_url=fake_slack.url)
    db_id = create_db(session)
    unit = ACTIONS["chain"]
    params = unit.check_params(
        {
            "steps": [
                {"action": "reboot_rds_instance", "params": {"db_instance_id": db_id}},
                {
                    "action": "post_incident_summary",
                    "params": {"channel": "C0INC", "text": "rebooted"},
                },
            ]
        }
    )
    assert unit.risk_for(params) == "high"
    assert set(unit.permissions_for(params)) >= {"rds:RebootDBInstance", "slack:chat:write"}
    preview = unit.preview(ctx, params)
    assert preview.expected == {f"1:{db_id}": "available"}
    unit.validate(ctx, params, preview.expected)
    outcomes = unit.execute(ctx, params, dry_run=False)
    assert [(o.resource_id, o.status) for o in outcomes] == [
        (f"step 1 reboot_rds_instance: {db_id}", "ok"),
        ("step 2 post_incident_summary: C0INC", "ok"),
    ]


def test_chain_stops_at_the_first_failure(session, ctx, fake_slack):
    ctx.slack = WebClient(token="xoxb-test", base_url=fake_slack.url)
    [iid] = run_instances(session)
    unit = ACTIONS["chain"]
    params = unit.check_params(
        {
            "steps": [
                {
                    "action": "post_incident_summary",
                    "params": {"channel": "C0INC", "text": "stopping"},
                },
                {"action": "stop_ec2_instances", "params": {"instance_ids": [iid]}},
                {
                    "action": "post_incident_summary",
                    "params": {"channel": "C0INC", "text": "stopped"},
                },
            ]
        }
    )
    fake_slack.fail_next("chat.postMessage", "channel_not_found")
    outcomes = unit.execute(ctx, params, dry_run=False)
    assert [o.status for o in outcomes] == ["error", "skipped", "skipped"]
    assert outcomes[1].detail == "not run: step 1 failed"
    assert ec2_state(session, iid) == "running"


def test_chain_validate_names_the_step(session, ctx):
    [iid] = run_instances(session)
    unit = ACTIONS["chain"]
    params = unit.check_params(
        {"steps": [{"action": "stop_ec2_instances", "params": {"instance_ids": [iid]}}]}
    )
    preview = unit.preview(ctx, params)
    session.client("ec2").stop_instances(InstanceIds=[iid])
    with pytest.raises(TargetChanged, match="step 1 \\(stop_ec2_instances\\)"):
        unit.validate(ctx, params, preview.expected)
