//! CloudWatch: scaletag's wake alarms described, put and deleted. Translation only.

use aws_sdk_cloudwatch as cw;

use crate::aws::{Aws, all_pages, found};
use crate::retry::{AwsError, Deadline, Op, call};
use crate::wake::{self, Alarm, MetricDimension};

/// Which of scaletag's wake alarms to describe.
#[derive(Debug, Clone, Copy)]
pub enum AlarmQuery<'a> {
    /// All of them (the sweep), a page at a time.
    All,
    /// Those of these names (one resource's units); none when the list is empty: no call.
    Named(&'a [String]),
    /// Those whose names start so (an endpoint's async variants).
    Prefix(&'a str),
}

impl Aws {
    /// scaletag's wake alarms, as `query` picks them.
    pub async fn describe_alarms(
        &self,
        query: AlarmQuery<'_>,
        dl: &Deadline,
    ) -> Result<Vec<Alarm>, AwsError> {
        let subject = match query {
            AlarmQuery::Named([]) => return Ok(Vec::new()),
            AlarmQuery::Named(names) => names.join(","),
            AlarmQuery::All => format!("{}*", wake::ALARM_PREFIX),
            AlarmQuery::Prefix(prefix) => format!("{prefix}*"),
        };
        let subject = subject.as_str();
        let alarms = all_pages(|token| async move {
            let out = call(Op::DescribeAlarms, subject, dl, || {
                let request = self
                    .cloudwatch()
                    .describe_alarms()
                    .alarm_types(cw::types::AlarmType::MetricAlarm)
                    .set_next_token(token.clone());
                match query {
                    AlarmQuery::Named(names) => request.set_alarm_names(Some(names.to_vec())),
                    AlarmQuery::All => request
                        .alarm_name_prefix(wake::ALARM_PREFIX)
                        .max_records(100),
                    AlarmQuery::Prefix(prefix) => {
                        request.alarm_name_prefix(prefix).max_records(100)
                    }
                }
                .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page = out
                    .metric_alarms()
                    .iter()
                    .filter_map(alarm_from_sdk)
                    .collect();
                (page, out.next_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(alarms.unwrap_or_default())
    }

    pub async fn put_alarm(&self, alarm: &Alarm, dl: &Deadline) -> Result<(), AwsError> {
        let name = alarm.alarm_name.as_str();
        call(Op::PutMetricAlarm, name, dl, || {
            self.cloudwatch()
                .put_metric_alarm()
                .alarm_name(name)
                .alarm_description(&alarm.alarm_description)
                .actions_enabled(true)
                .set_alarm_actions(Some(alarm.alarm_actions.clone()))
                .namespace(&alarm.namespace)
                .metric_name(&alarm.metric_name)
                .set_dimensions(Some(
                    alarm
                        .dimensions
                        .iter()
                        .map(|d| {
                            cw::types::Dimension::builder()
                                .name(&d.name)
                                .value(&d.value)
                                .build()
                        })
                        .collect(),
                ))
                .statistic(cw::types::Statistic::from(alarm.statistic.as_str()))
                .period(alarm.period)
                .evaluation_periods(alarm.evaluation_periods)
                .datapoints_to_alarm(alarm.datapoints_to_alarm)
                .threshold(alarm.threshold)
                .comparison_operator(cw::types::ComparisonOperator::from(
                    alarm.comparison_operator.as_str(),
                ))
                .treat_missing_data(&alarm.treat_missing_data)
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn delete_alarm(&self, name: &str, dl: &Deadline) -> Result<(), AwsError> {
        call(Op::DeleteAlarms, name, dl, || {
            self.cloudwatch().delete_alarms().alarm_names(name).send()
        })
        .await?;
        Ok(())
    }
}

/// One of scaletag's alarms (by its name) as CloudWatch describes it; other alarms are not
/// scaletag's.
fn alarm_from_sdk(a: &cw::types::MetricAlarm) -> Option<Alarm> {
    let name = a
        .alarm_name()
        .filter(|n| n.starts_with(wake::ALARM_PREFIX))?;
    Some(Alarm {
        alarm_name: name.to_string(),
        alarm_description: a.alarm_description().unwrap_or_default().to_string(),
        namespace: a.namespace().unwrap_or_default().to_string(),
        metric_name: a.metric_name().unwrap_or_default().to_string(),
        dimensions: a
            .dimensions()
            .iter()
            .map(|d| MetricDimension {
                name: d.name().unwrap_or_default().to_string(),
                value: d.value().unwrap_or_default().to_string(),
            })
            .collect(),
        statistic: a
            .statistic()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        period: a.period().unwrap_or_default(),
        evaluation_periods: a.evaluation_periods().unwrap_or_default(),
        datapoints_to_alarm: a.datapoints_to_alarm().unwrap_or_default(),
        threshold: a.threshold().unwrap_or_default(),
        comparison_operator: a
            .comparison_operator()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_string(),
        alarm_actions: a.alarm_actions().to_vec(),
    })
}
