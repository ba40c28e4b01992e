/**
 * The CloudWatch alarms an operator of the consumer wants: events that failed for good (and
 * their records waiting in the failure bucket), records Lambda could not deliver, errors,
 * throttles, and a growing backlog of queued events. Optionally notifies an SNS topic, either
 * one the caller owns or one created here.
 *
 * Metrics: AWS/Lambda `AsyncEventsDropped`, `DestinationDeliveryFailures`, `Errors`, `Throttles`,
 * `AsyncEventAge` (Lambda Developer Guide, "Types of metrics for Lambda functions"); AWS/S3
 * `NumberOfObjects` (S3 User Guide, "Metrics and dimensions": a daily storage metric, free).
 */
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic/index.js";
import { Construct } from "constructs";
import { failureRecordPrefix } from "../lib/failure-records.ts";
import { STACK_DEFAULTS } from "./config.ts";
import { asText, hclIn, isTerraformDecided, isVariableReference } from "./terraform-expression.ts";

export interface ConsumerAlarmsProps {
  /** The consumer function. */
  readonly functionName: string;
  /** The consumer's on-failure destination bucket. */
  readonly failureBucketName: string;
  /**
   * Alarm when the oldest event waiting in Lambda's asynchronous queue is this old.
   * @default 900
   */
  readonly eventAgeSeconds?: number;
  /**
   * SNS topic the alarms notify (when they fire and when they recover). A Terraform variable
   * may be null: no notifications then.
   * @default - none, unless `createTopic`
   */
  readonly topicArn?: string;
  /**
   * Create a topic `<functionName>-alarms` for the alarms to notify; subscribe to it yourself.
   * @default false
   */
  readonly createTopic?: boolean;
}

/** What each alarm watches; the name is `<function>-<key>`. */
export type ConsumerAlarmKey = "failed-events" | "failure-records-waiting" | "destination-delivery-failures" | "errors" | "throttles" | "event-age";

export class ConsumerAlarms extends Construct {
  /** Created only with `createTopic`. */
  public readonly topic: SnsTopic | undefined;
  public readonly alarms: Readonly<Record<ConsumerAlarmKey, CloudwatchMetricAlarm>>;

  constructor(scope: Construct, id: string, props: ConsumerAlarmsProps) {
    super(scope, id);
    const fn = props.functionName;
    // No SSE on a created topic: CloudWatch can publish to an encrypted topic only through a
    // customer managed key whose policy admits it, which this stack does not own.
    this.topic = props.createTopic ? new SnsTopic(this, "topic", { name: `${fn}-alarms` }) : undefined;
    const hcl = hclIn(this);
    const topicArn = this.topic?.arn ?? props.topicArn;
    const notify = topicArn === undefined ? undefined : isVariableReference(this, topicArn) ? hcl.any`${topicArn} == null ? [] : [${topicArn}]` : [topicArn];
    const actions = notify === undefined ? {} : { alarmActions: notify, okActions: notify };
    const lambda = { namespace: "AWS/Lambda", dimensions: { FunctionName: fn } };
    const records = `s3://${props.failureBucketName}/${failureRecordPrefix(fn)}`;
    const redrive = "List and replay them with `npm run redrive -- --target aws --bucket <failure bucket>`.";
    const eventAgeSeconds = props.eventAgeSeconds ?? STACK_DEFAULTS.alarmEventAgeSeconds;

    const alarm = (key: ConsumerAlarmKey, config: Omit<ConstructorParameters<typeof CloudwatchMetricAlarm>[2], "alarmName" | "evaluationPeriods">) =>
      new CloudwatchMetricAlarm(this, key.replace(/-/g, "_"), {
        alarmName: `${fn}-${key}`,
        evaluationPeriods: 1,
        // No data means nothing happened: Lambda publishes these metrics only when there is something to count.
        treatMissingData: "notBreaching",
        ...actions,
        ...config,
      });

    this.alarms = {
      "failed-events": alarm("failed-events", {
        alarmDescription: `${fn} failed events for good (retries spent or too old). Lambda wrote their records to ${records}. ${redrive}`,
        ...lambda,
        metricName: "AsyncEventsDropped",
        statistic: "Sum",
        period: 60,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
      }),
      "failure-records-waiting": alarm("failure-records-waiting", {
        alarmDescription: `Failure records are waiting in ${records} (S3 reports the object count once a day). ${redrive}`,
        namespace: "AWS/S3",
        dimensions: { BucketName: props.failureBucketName, StorageType: "AllStorageTypes" },
        metricName: "NumberOfObjects",
        statistic: "Maximum",
        period: 86_400,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
      }),
      "destination-delivery-failures": alarm("destination-delivery-failures", {
        alarmDescription: `Lambda could not write the record of a failed ${fn} event to ${records}: that event is lost. Check the bucket, its encryption key and the function role.`,
        ...lambda,
        metricName: "DestinationDeliveryFailures",
        statistic: "Sum",
        period: 60,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
      }),
      errors: alarm("errors", {
        alarmDescription: `${fn} returned errors; Lambda retries them, and records events that keep failing.`,
        ...lambda,
        metricName: "Errors",
        statistic: "Sum",
        period: 300,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
      }),
      throttles: alarm("throttles", {
        alarmDescription: `${fn} was throttled (concurrency exhausted); its events wait in Lambda's queue and age.`,
        ...lambda,
        metricName: "Throttles",
        statistic: "Sum",
        period: 300,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
      }),
      "event-age": alarm("event-age", {
        alarmDescription: `An event waited over ${asText(eventAgeSeconds)} s in ${fn}'s asynchronous queue: a backlog that ends in EventAgeExceeded records if it keeps growing.`,
        ...lambda,
        metricName: "AsyncEventAge",
        statistic: "Maximum",
        period: 60,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        // AsyncEventAge is in milliseconds.
        threshold: isTerraformDecided(eventAgeSeconds) ? hcl.number`${eventAgeSeconds} * 1000` : eventAgeSeconds * 1000,
      }),
    };
  }
}
