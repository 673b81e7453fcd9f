"""The demo AWS account: moto plus the billing fake, reached through boto3's standard chain.

One module-scoped account keeps this fast; each test points boto3 at it only through the
environment variables `start_demo_aws` returns, which is how the console uses it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from bot.devtools.demo_aws import (
    INJECTION_TEXT,
    ORDERS_API_LOG_GROUP,
    ORDERS_API_PODS,
    ORDERS_DB,
    DemoAws,
    incident_start_for,
    start_demo_aws,
)

TODAY = date(2026, 5, 20)
NOW = datetime.now(UTC)  # moto only accepts log events from the last 14 days


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoAws]:
    with pytest.MonkeyPatch.context() as patch:
        # moto's default AMIs take seconds to load and the demo does not need them.
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        environ_before = dict(os.environ)
        with start_demo_aws(TODAY, now=NOW) as running:
            assert dict(os.environ) == environ_before, "the caller decides what goes in os.environ"
            yield running


@pytest.fixture
def aws(demo: DemoAws, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    """A plain boto3 Session; endpoints, region and credentials come from demo.env only."""
    for name, value in demo.env.items():
        monkeypatch.setenv(name, value)
    return boto3.Session()


def test_cost_explorer_and_budgets_are_served_by_the_billing_fake(aws, demo) -> None:
    ce = aws.client("ce")
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-04-01", "End": "2026-05-01"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    )
    [budget] = aws.client("budgets").describe_budgets(AccountId="123456789012")["Budgets"]

    assert len(answer["ResultsByTime"][0]["Groups"]) == 3
    assert budget["BudgetName"] == demo.dataset.budgets[0].name
    assert demo.billing.count("GetCostAndUsage") == 1
    assert aws.client("sts").get_caller_identity()["Account"] == demo.dataset.payer_account


def names(resource: dict[str, Any]) -> str:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}.get("Name", "")


def test_ec2_has_running_idle_and_stopped_instances_and_leftovers(aws, demo) -> None:
    ec2 = aws.client("ec2")
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    states = {names(i): i["State"]["Name"] for i in instances}
    stopped = next(i for i in instances if i["State"]["Name"] == "stopped")
    free_volumes = ec2.describe_volumes(Filters=[{"Name": "status", "Values": ["available"]}])
    [address] = ec2.describe_addresses()["Addresses"]
    snapshots = ec2.describe_snapshots(SnapshotIds=demo.resources.old_snapshots)["Snapshots"]

    assert states == {
        "web-1": "running",
        "web-2": "running",
        "api-1": "running",
        "batch-idle": "running",
        "old-worker": "stopped",
    }
    assert len(stopped["BlockDeviceMappings"]) == 2  # root and data volume still billed
    assert len(free_volumes["Volumes"]) == 2
    assert "AssociationId" not in address and address["AllocationId"]
    assert all(s["StartTime"] < NOW - timedelta(days=180) for s in snapshots)


def cpu_average(aws: boto3.Session, instance_id: str) -> float:
    points = aws.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        StartTime=NOW - timedelta(days=14),
        EndTime=NOW,
        Period=86400,
        Statistics=["Average"],
    )["Datapoints"]
    assert len(points) >= 14
    return sum(p["Average"] for p in points) / len(points)


def test_fourteen_days_of_cpu_show_one_idle_instance(aws, demo) -> None:
    resources = demo.resources

    assert cpu_average(aws, resources.idle_instance) < 3
    assert cpu_average(aws, resources.instances["web-1"]) > 20


def test_orders_db_has_max_connections_150(aws) -> None:
    rds = aws.client("rds")
    [db] = rds.describe_db_instances(DBInstanceIdentifier=ORDERS_DB)["DBInstances"]
    group = db["DBParameterGroups"][0]["DBParameterGroupName"]
    parameters = rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]

    assert {p["ParameterName"]: p["ParameterValue"] for p in parameters}["max_connections"] == "150"
    assert {"Key": "max_connections", "Value": "150"} in db["TagList"]


def test_logs_bucket_has_no_lifecycle_rules_and_the_data_lake_has(aws) -> None:
    s3 = aws.client("s3")

    with pytest.raises(s3.exceptions.ClientError) as raised:
        s3.get_bucket_lifecycle_configuration(Bucket="penny-demo-logs")
    assert raised.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"
    assert s3.get_bucket_lifecycle_configuration(Bucket="penny-demo-data-lake")["Rules"]


def test_the_incident_shows_connection_exhaustion_from_all_three_pods(aws, demo) -> None:
    logs = aws.client("logs")
    incident = demo.resources.incident_start
    errors = logs.filter_log_events(
        logGroupName=ORDERS_API_LOG_GROUP, filterPattern='"too many clients"'
    )["events"]
    before = [e for e in errors if e["timestamp"] < incident.timestamp() * 1000]
    pools = logs.filter_log_events(
        logGroupName=ORDERS_API_LOG_GROUP, filterPattern="maximumPoolSize"
    )
    injection = logs.filter_log_events(
        logGroupName=ORDERS_API_LOG_GROUP, filterPattern='"ignore previous instructions"'
    )["events"]

    assert incident == incident_start_for(NOW)
    assert (incident.hour, incident.minute) == (10, 12)
    assert {e["logStreamName"] for e in errors} == set(ORDERS_API_PODS)
    assert before == []
    assert all("maximumPoolSize=50" in e["message"] for e in pools["events"])
    assert len(pools["events"]) == 3
    assert [INJECTION_TEXT in e["message"] for e in injection] == [True]
