"""The synthesized stack: event patterns, targets, IAM, queues, functions and alarms, pinned exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.function import PROJECT_ROOT
from tests.infra.template_helpers import get_att, logical_id_of, ref, resources_of, role_grants, sub

ECR_REPOSITORIES = sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*")


def account_resource(service: str, resource: str) -> str:
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def ecs(resource: str) -> str:
    return sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """One synth for the whole module, into a scratch cloud assembly (the asset folder is inspected too)."""
    outdir = tmp_path_factory.mktemp("cdk-out")
    app, stack = build_app({}, outdir=str(outdir))
    app.synth()
    return Template.from_stack(stack).to_json(), outdir


@pytest.fixture(scope="module")
def template(synthesized: tuple[dict[str, Any], Path]) -> dict[str, Any]:
    return synthesized[0]


def function_id(template: dict[str, Any], name: str) -> str:
    return logical_id_of(template, "AWS::Lambda::Function", FunctionName=name)


def queue_id(template: dict[str, Any], name: str) -> str:
    return logical_id_of(template, "AWS::SQS::Queue", QueueName=name)


def role_of(template: dict[str, Any], function_name: str) -> str:
    role: dict[str, Any] = template["Resources"][function_id(template, function_name)]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def parameter_arn(template: dict[str, Any]) -> str:
    parameter = logical_id_of(template, "AWS::SSM::Parameter", Name="/ecr-housekeeper/config")
    arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ssm:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":parameter",
                {"Ref": parameter},
            ],
        ]
    }
    return json.dumps(arn, sort_keys=True)


def log_group_of(template: dict[str, Any], function_name: str) -> str:
    config = template["Resources"][function_id(template, function_name)]["Properties"]["LoggingConfig"]
    return str(config["LogGroup"]["Ref"])


XRAY = {("xray:PutTelemetryRecords", "*"), ("xray:PutTraceSegments", "*")}


def logs_grants(template: dict[str, Any], function_name: str) -> set[tuple[str, str]]:
    log_group = get_att(log_group_of(template, function_name))
    return {("logs:CreateLogStream", log_group), ("logs:PutLogEvents", log_group)}


# ------------------------------------------------------------------------------------------------ event rules


def rule(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id_of(template, "AWS::Events::Rule", Name=name)][
        "Properties"
    ]
    return properties


def test_deployment_rule_matches_only_completed_ecs_deployments_and_targets_the_tagger(
    template: dict[str, Any],
) -> None:
    properties = rule(template, "ecr-housekeeper-ecs-deployment-completed")
    assert properties["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "detail": {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]},
    }
    assert properties["Targets"] == [
        {
            "Id": "Target0",
            "Arn": {"Fn::GetAtt": [function_id(template, "ecr-housekeeper-tag-deployment"), "Arn"]},
            "DeadLetterConfig": {
                "Arn": {"Fn::GetAtt": [queue_id(template, "ecr-housekeeper-tag-deployment-dlq"), "Arn"]}
            },
            "RetryPolicy": {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8},
        }
    ]


def dispatcher_target(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "Id": "Target0",
            "Arn": {"Fn::GetAtt": [function_id(template, "ecr-housekeeper-plan-sync"), "Arn"]},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id(template, "ecr-housekeeper-plan-sync-dlq"), "Arn"]}},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8},
        }
    ]


def test_push_rule_matches_only_successful_pushes_and_targets_the_dispatcher(template: dict[str, Any]) -> None:
    properties = rule(template, "ecr-housekeeper-ecr-image-pushed")
    assert properties["EventPattern"] == {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]},
    }
    assert properties["Targets"] == dispatcher_target(template)


def test_config_rule_matches_changes_of_the_one_config_parameter(template: dict[str, Any]) -> None:
    properties = rule(template, "ecr-housekeeper-config-changed")
    assert properties["EventPattern"] == {
        "source": ["aws.ssm"],
        "detail-type": ["Parameter Store Change"],
        "detail": {"name": ["/ecr-housekeeper/config"], "operation": ["Create", "Update", "Delete"]},
    }
    assert properties["Targets"] == dispatcher_target(template)


def test_daily_sweep_runs_the_dispatcher_on_the_configured_schedule(template: dict[str, Any]) -> None:
    properties = rule(template, "ecr-housekeeper-drift-sweep")
    assert properties["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert "EventPattern" not in properties
    assert properties["Targets"] == dispatcher_target(template)


def test_there_are_exactly_six_rules(template: dict[str, Any]) -> None:
    """Four on the default bus; on the bus spokes forward to, the tagger's and the one for other regions' pushes."""
    assert len(resources_of(template, "AWS::Events::Rule")) == 6
    forwarded = {
        r["Properties"]["Name"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if "EventBusName" in r["Properties"]
    }
    assert forwarded == {"ecr-housekeeper-forwarded-deployments", "ecr-housekeeper-forwarded-pushes"}


def test_eventbridge_may_write_dead_letters_only_from_its_own_rules(template: dict[str, Any]) -> None:
    for queue_name, rule_names in (
        (
            "ecr-housekeeper-tag-deployment-dlq",
            ["ecr-housekeeper-ecs-deployment-completed", "ecr-housekeeper-forwarded-deployments"],
        ),
        (
            "ecr-housekeeper-plan-sync-dlq",
            [
                "ecr-housekeeper-ecr-image-pushed",
                "ecr-housekeeper-forwarded-pushes",
                "ecr-housekeeper-config-changed",
                "ecr-housekeeper-drift-sweep",
            ],
        ),
    ):
        statements = queue_policy_statements(template, queue_id(template, queue_name))
        allowed_sources = [
            s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in statements if s["Effect"] == "Allow"
        ]
        assert {s["Action"] for s in statements if s["Effect"] == "Allow"} == {"sqs:SendMessage"}
        assert allowed_sources == [logical_id_of(template, "AWS::Events::Rule", Name=name) for name in rule_names]


# ------------------------------------------------------------------------------------------------------- IAM


def test_every_function_has_its_own_role(template: dict[str, Any]) -> None:
    names = ["ecr-housekeeper-tag-deployment", "ecr-housekeeper-plan-sync", "ecr-housekeeper-sync-repository"]
    roles = {role_of(template, name) for name in names}
    assert len(roles) == 3
    assert set(resources_of(template, "AWS::IAM::Role")) == roles


def test_the_roles_that_spokes_trust_have_fixed_names_and_the_dispatcher_does_not(template: dict[str, Any]) -> None:
    def role_name(function_name: str) -> Any:
        return template["Resources"][role_of(template, function_name)]["Properties"].get("RoleName")

    assert role_name("ecr-housekeeper-tag-deployment") == "ecr-housekeeper-tag-deployment-role"
    assert role_name("ecr-housekeeper-sync-repository") == "ecr-housekeeper-sync-repository-role"
    assert role_name("ecr-housekeeper-plan-sync") is None


def test_tagger_role_grants_exactly_retagging_and_deployment_reads(template: dict[str, Any]) -> None:
    name = "ecr-housekeeper-tag-deployment"
    assert role_grants(template, role_of(template, name)) == {
        ("ecr:BatchGetImage", ECR_REPOSITORIES),
        ("ecr:DescribeImages", ECR_REPOSITORIES),
        ("ecr:PutImage", ECR_REPOSITORIES),
        ("ecs:DescribeServices", ecs("service/*")),
        ("ecs:DescribeServiceDeployments", ecs("service-deployment/*")),
        ("ecs:DescribeServiceRevisions", ecs("service-revision/*")),
        ("ecs:DescribeTasks", ecs("task/*")),
        ("ecs:DescribeTaskDefinition", "*"),
        ("ecs:ListTasks", "*"),
        ("ssm:GetParameter", parameter_arn(template)),
        ("sqs:SendMessage", get_att(queue_id(template, "ecr-housekeeper-sync"))),
        ("sqs:SendMessage", get_att(queue_id(template, "ecr-housekeeper-tag-deployment-dlq"))),
        *logs_grants(template, name),
        *XRAY,
    }


def test_dispatcher_role_grants_exactly_listing_and_queueing(template: dict[str, Any]) -> None:
    name = "ecr-housekeeper-plan-sync"
    assert role_grants(template, role_of(template, name)) == {
        ("ecr:DescribeRepositories", ECR_REPOSITORIES),
        ("sqs:SendMessage", get_att(queue_id(template, "ecr-housekeeper-sync"))),
        ("ssm:GetParameter", parameter_arn(template)),
        ("sqs:SendMessage", get_att(queue_id(template, "ecr-housekeeper-plan-sync-dlq"))),
        *logs_grants(template, name),
        *XRAY,
    }


def test_worker_role_grants_exactly_policy_sync_and_in_use_reads(template: dict[str, Any]) -> None:
    name = "ecr-housekeeper-sync-repository"
    sync_queue = get_att(queue_id(template, "ecr-housekeeper-sync"))
    assert role_grants(template, role_of(template, name)) == {
        ("ecr:BatchGetImage", ECR_REPOSITORIES),
        ("ecr:DescribeImages", ECR_REPOSITORIES),
        ("ecr:GetLifecyclePolicy", ECR_REPOSITORIES),
        ("ecr:GetRepositoryPolicy", ECR_REPOSITORIES),  # who else may pull, when a workload account is unreadable
        ("ecr:PutImage", ECR_REPOSITORIES),
        ("ecr:PutLifecyclePolicy", ECR_REPOSITORIES),
        ("ecs:DescribeServices", ecs("service/*")),
        ("ecs:DescribeTasks", ecs("task/*")),
        ("ecs:DescribeTaskDefinition", "*"),
        ("ecs:ListClusters", "*"),
        ("ecs:ListServices", "*"),
        ("ecs:ListTaskDefinitionFamilies", "*"),
        ("ecs:ListTaskDefinitions", "*"),
        ("ecs:ListTasks", "*"),
        ("lambda:GetFunction", account_resource("lambda", "function:*")),
        ("lambda:ListAliases", account_resource("lambda", "function:*")),
        ("lambda:ListFunctions", "*"),
        ("scheduler:GetSchedule", account_resource("scheduler", "schedule/*")),
        ("scheduler:ListScheduleGroups", "*"),
        ("scheduler:ListSchedules", "*"),
        ("events:ListTargetsByRule", account_resource("events", "rule/*")),
        ("events:ListEventBuses", "*"),
        ("events:ListRules", "*"),
        ("ssm:GetParameter", parameter_arn(template)),
        ("sqs:DeleteMessage", sync_queue),
        ("sqs:GetQueueAttributes", sync_queue),
        ("sqs:ReceiveMessage", sync_queue),
        *logs_grants(template, name),
        *XRAY,
    }


def test_no_identity_policy_allows_wildcard_actions_or_deleting_images(template: dict[str, Any]) -> None:
    granted = {
        action for role_id in resources_of(template, "AWS::IAM::Role") for action, _ in role_grants(template, role_id)
    }
    assert not any("*" in action for action in granted)
    assert "ecr:BatchDeleteImage" not in json.dumps(template)
    assert not any(action.startswith("ecr:") and "Delete" in action for action in granted)


# ---------------------------------------------------------------------------------------------------- queues


def queue_policy_statements(template: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    policies = [
        p["Properties"]
        for p in resources_of(template, "AWS::SQS::QueuePolicy").values()
        if ref(queue) in p["Properties"]["Queues"]
    ]
    assert len(policies) == 1
    statements: list[dict[str, Any]] = policies[0]["PolicyDocument"]["Statement"]
    return statements


def test_every_queue_is_encrypted_and_refuses_plain_http(template: dict[str, Any]) -> None:
    queues = resources_of(template, "AWS::SQS::Queue")
    assert len(queues) == 4
    for logical_id, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        deny = [s for s in queue_policy_statements(template, logical_id) if s["Effect"] == "Deny"]
        assert deny == [
            {
                "Action": "sqs:*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Resource": {"Fn::GetAtt": [logical_id, "Arn"]},
            }
        ]


def test_sync_queue_hides_messages_six_worker_timeouts_and_dead_letters_after_three_receives(
    template: dict[str, Any],
) -> None:
    queue = template["Resources"][queue_id(template, "ecr-housekeeper-sync")]["Properties"]
    worker = template["Resources"][function_id(template, "ecr-housekeeper-sync-repository")]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * worker["Timeout"] == 1800
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [queue_id(template, "ecr-housekeeper-sync-dlq"), "Arn"]},
        "maxReceiveCount": 3,
    }


def test_dead_letter_queues_keep_messages_fourteen_days(template: dict[str, Any]) -> None:
    for name in ("ecr-housekeeper-sync-dlq", "ecr-housekeeper-tag-deployment-dlq", "ecr-housekeeper-plan-sync-dlq"):
        assert template["Resources"][queue_id(template, name)]["Properties"]["MessageRetentionPeriod"] == 1209600


def test_worker_consumes_the_sync_queue_with_partial_batch_failures(template: dict[str, Any]) -> None:
    (mapping,) = resources_of(template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"] == {
        "BatchSize": 5,
        "EventSourceArn": {"Fn::GetAtt": [queue_id(template, "ecr-housekeeper-sync"), "Arn"]},
        "FunctionName": {"Ref": function_id(template, "ecr-housekeeper-sync-repository")},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 2},
    }


# ------------------------------------------------------------------------------------------------- functions


@pytest.mark.parametrize(
    ("name", "handler"),
    [
        ("ecr-housekeeper-tag-deployment", "housekeeper.handlers.tag_deployment.handler"),
        ("ecr-housekeeper-plan-sync", "housekeeper.handlers.plan_sync.handler"),
        ("ecr-housekeeper-sync-repository", "housekeeper.handlers.sync_repository.handler"),
    ],
)
def test_functions_run_python313_arm64_traced_with_json_logs(template: dict[str, Any], name: str, handler: str) -> None:
    properties = template["Resources"][function_id(template, name)]["Properties"]
    assert properties["Handler"] == handler
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["LoggingConfig"]["LogFormat"] == "JSON"
    assert properties["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    assert 30 <= properties["Timeout"] <= 900
    assert 128 <= properties["MemorySize"] <= 1024
    variables = properties["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "ecr-housekeeper"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "EcrHousekeeper"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert variables["HOUSEKEEPER_CONFIG_PARAMETER"] == "/ecr-housekeeper/config"
    log_group = template["Resources"][log_group_of(template, name)]
    assert log_group["Properties"]["RetentionInDays"] == 90
    assert log_group["DeletionPolicy"] == "Retain"


def test_the_dispatcher_and_the_tagger_queue_syncs_and_the_worker_does_not(template: dict[str, Any]) -> None:
    def variables(name: str) -> dict[str, Any]:
        env: dict[str, Any] = template["Resources"][function_id(template, name)]["Properties"]["Environment"]
        return dict(env["Variables"])

    queue = {"Ref": queue_id(template, "ecr-housekeeper-sync")}
    assert variables("ecr-housekeeper-plan-sync")["HOUSEKEEPER_SYNC_QUEUE_URL"] == queue
    # The tagger queues a sync of what a deployment runs, so a rollback's image is protected within seconds.
    assert variables("ecr-housekeeper-tag-deployment")["HOUSEKEEPER_SYNC_QUEUE_URL"] == queue
    assert "HOUSEKEEPER_SYNC_QUEUE_URL" not in variables("ecr-housekeeper-sync-repository")


def test_worker_has_reserved_concurrency_and_the_others_do_not(template: dict[str, Any]) -> None:
    def reserved(name: str) -> Any:
        return template["Resources"][function_id(template, name)]["Properties"].get("ReservedConcurrentExecutions")

    assert reserved("ecr-housekeeper-sync-repository") == 2
    assert reserved("ecr-housekeeper-tag-deployment") is None
    assert reserved("ecr-housekeeper-plan-sync") is None


def test_event_driven_functions_send_their_own_failures_to_their_dead_letter_queue(template: dict[str, Any]) -> None:
    for function_name, queue_name in (
        ("ecr-housekeeper-tag-deployment", "ecr-housekeeper-tag-deployment-dlq"),
        ("ecr-housekeeper-plan-sync", "ecr-housekeeper-plan-sync-dlq"),
    ):
        properties = template["Resources"][function_id(template, function_name)]["Properties"]
        assert properties["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id(template, queue_name), "Arn"]}}
    invoke_configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in resources_of(template, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert set(invoke_configs) == {
        function_id(template, "ecr-housekeeper-tag-deployment"),
        function_id(template, "ecr-housekeeper-plan-sync"),
    }
    for invoke_config in invoke_configs.values():
        assert invoke_config["MaximumRetryAttempts"] == 2
        assert invoke_config["MaximumEventAgeInSeconds"] == 21600


def test_powertools_layer_resolves_from_its_public_parameter_at_deploy_time(template: dict[str, Any]) -> None:
    layer_parameters = {
        name: p
        for name, p in template["Parameters"].items()
        if p.get("Default", "").startswith("/aws/service/powertools/")
    }
    ((parameter_id, parameter),) = layer_parameters.items()
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/aws/service/powertools/python/arm64/python3.13/3.37.0",
    }
    for function in resources_of(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Layers"] == [{"Ref": parameter_id}]


def test_asset_is_the_plain_runtime_package(synthesized: tuple[dict[str, Any], Path]) -> None:
    _, outdir = synthesized
    (asset,) = [p for p in outdir.iterdir() if p.name.startswith("asset.")]
    files = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()}
    assert "housekeeper/observability.py" in files
    assert "housekeeper/core/config.py" in files
    assert not any(f.startswith(("housekeeper/cli/", "housekeeper/operator/")) for f in files)
    # ... and nothing shipped needs them: the report and the native preview are the operator's, not the Lambdas'.
    shipped = [asset / f for f in files if f.endswith(".py")]
    assert not [
        p.name for p in shipped if "housekeeper.cli" in p.read_text() or "housekeeper.operator" in p.read_text()
    ]
    assert not any("__pycache__" in f or f.endswith(".pyc") or ".egg-info" in f for f in files)
    assert not any(f.startswith("tests/") or "/tests/" in f for f in files)


def test_config_parameter_is_seeded_with_the_default_config(template: dict[str, Any]) -> None:
    parameter = template["Resources"][logical_id_of(template, "AWS::SSM::Parameter", Name="/ecr-housekeeper/config")]
    seeded = json.loads(parameter["Properties"]["Value"])
    default = json.loads((PROJECT_ROOT / "config" / "default.json").read_text(encoding="utf-8"))
    assert seeded == default
    assert parameter["Properties"]["Type"] == "String"
    assert parameter["Properties"]["Tier"] == "Standard"


# ------------------------------------------------------------------------------------------------ monitoring


def alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][
        logical_id_of(template, "AWS::CloudWatch::Alarm", AlarmName=name)
    ]["Properties"]
    return properties


def topic_id(template: dict[str, Any]) -> str:
    return logical_id_of(template, "AWS::SNS::Topic", TopicName="ecr-housekeeper-alarms")


def test_every_alarm_notifies_the_alarm_topic_on_the_first_occurrence(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 11
    for properties in (a["Properties"] for a in alarms.values()):
        assert properties["AlarmActions"] == [{"Ref": topic_id(template)}]
        assert properties["Threshold"] == 1
        assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert properties["EvaluationPeriods"] == 1
        assert properties["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(
    ("alarm_name", "queue_name"),
    [
        ("ecr-housekeeper-tag-deployment-dlq-not-empty", "ecr-housekeeper-tag-deployment-dlq"),
        ("ecr-housekeeper-plan-sync-dlq-not-empty", "ecr-housekeeper-plan-sync-dlq"),
        ("ecr-housekeeper-sync-repository-dlq-not-empty", "ecr-housekeeper-sync-dlq"),
    ],
)
def test_any_message_in_a_dead_letter_queue_alarms(template: dict[str, Any], alarm_name: str, queue_name: str) -> None:
    properties = alarm(template, alarm_name)
    assert properties["Namespace"] == "AWS/SQS"
    assert properties["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert properties["Statistic"] == "Maximum"
    assert properties["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(template, queue_name), "QueueName"]}}
    ]


@pytest.mark.parametrize(
    "function_name", ["ecr-housekeeper-tag-deployment", "ecr-housekeeper-plan-sync", "ecr-housekeeper-sync-repository"]
)
def test_any_lambda_error_alarms(template: dict[str, Any], function_name: str) -> None:
    properties = alarm(template, f"{function_name}-errors")
    assert properties["Namespace"] == "AWS/Lambda"
    assert properties["MetricName"] == "Errors"
    assert properties["Statistic"] == "Sum"
    assert properties["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": function_id(template, function_name)}}
    ]


@pytest.mark.parametrize(
    ("alarm_name", "metric"),
    [
        ("ecr-housekeeper-config-invalid", "ConfigInvalid"),
        ("ecr-housekeeper-sync-blocked", "SyncBlocked"),
        ("ecr-housekeeper-tagging-failed", "TaggingFailed"),
        ("ecr-housekeeper-in-use-images-at-risk", "InUseImagesAtRisk"),
        ("ecr-housekeeper-inventory-incomplete", "InventoryIncomplete"),
    ],
)
def test_product_failures_alarm_on_the_metrics_powertools_emits(
    template: dict[str, Any], alarm_name: str, metric: str
) -> None:
    properties = alarm(template, alarm_name)
    assert properties["Namespace"] == "EcrHousekeeper"
    assert properties["MetricName"] == metric
    assert properties["Statistic"] == "Sum"
    assert properties["Dimensions"] == [{"Name": "service", "Value": "ecr-housekeeper"}]


def test_alarm_metrics_are_the_ones_the_lambdas_emit() -> None:
    from housekeeper import observability

    assert observability.NAMESPACE == "EcrHousekeeper"
    assert observability.SERVICE == "ecr-housekeeper"
    assert (
        observability.CONFIG_INVALID,
        observability.SYNC_BLOCKED,
        observability.TAGGING_FAILED,
        observability.IN_USE_IMAGES_AT_RISK,
        observability.INVENTORY_INCOMPLETE,
    ) == ("ConfigInvalid", "SyncBlocked", "TaggingFailed", "InUseImagesAtRisk", "InventoryIncomplete")


def test_alarm_topic_is_kms_encrypted_ssl_only_and_has_no_subscription_by_default(template: dict[str, Any]) -> None:
    topic = template["Resources"][topic_id(template)]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch[0]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    (policy,) = resources_of(template, "AWS::SNS::TopicPolicy").values()
    deny = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert resources_of(template, "AWS::SNS::Subscription") == {}


def test_dashboard_shows_tags_repositories_expiries_errors_and_dead_letters(template: dict[str, Any]) -> None:
    (dashboard,) = resources_of(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "ecr-housekeeper-overview"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in (
        "Tags applied",
        "Repositories: in sync / updated / blocked",
        "Images projected to expire; in-use images",
        "Errors",
        "Dead-letter queue depth",
    ):
        assert f'\\"title\\":\\"{title}\\"' in body
    for metric in (
        "ImagesTagged",
        "ReposInSync",
        "PoliciesUpdated",
        "SyncBlocked",
        "ImagesProjectedToExpire",
        "InUseImagesAtRisk",
        "InUseImagesProtected",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert f'\\"{metric}\\"' in body


def test_the_dispatcher_has_time_to_fan_out_ecrs_largest_registry(template: dict[str, Any]) -> None:
    """100,000 repositories are about 10,100 sequential calls; a timeout would retry the whole fan-out."""
    properties = template["Resources"][function_id(template, "ecr-housekeeper-plan-sync")]["Properties"]
    assert properties["Timeout"] == 900
