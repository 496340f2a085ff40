//! Notifications on an SNS topic: the JSON message of the original sample,
//! plus a `status` message attribute for subscription filter policies.

use crate::sdk::{describe, is_throttling};
use aws_sdk_sns::types::MessageAttributeValue;
use incx_core::domain::notification::Notification;
use incx_core::error::CoreError;
use incx_core::ports::Notifier;

/// SNS refuses subjects of 100 characters or more.
const SUBJECT_MAX: usize = 99;

#[derive(Debug)]
pub struct SnsNotifier {
    pub client: aws_sdk_sns::Client,
    pub topic_arn: String,
}

/// A subject SNS accepts: printable ASCII only (no line breaks), starting
/// with a visible character, under the length limit.
fn subject(raw: &str) -> String {
    let printable: String = raw
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() => ' ',
            _ => '?',
        })
        .collect();
    let cut: String = printable.trim_start().chars().take(SUBJECT_MAX).collect();
    match cut.trim_end() {
        "" => "Export workflow".to_string(),
        s => s.to_string(),
    }
}

impl SnsNotifier {
    /// The topic named by `TOPIC_ARN`, on the shared SDK configuration.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, CoreError> {
        let topic = incx_core::config::Env::new(|k| std::env::var(k).ok())
            .text(incx_core::config::vars::TOPIC_ARN)?;
        Ok(Self::new(aws_sdk_sns::Client::new(sdk), topic))
    }

    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl SnsNotifier {
    /// Publishes a JSON `message` with `subject` and the `status` attribute
    /// (the e-mail subscriptions filter on the body's `status` field, so
    /// `message` carries it too); the message id.
    pub async fn publish_json(
        &self,
        subject_text: &str,
        status: &str,
        dedupe_key: Option<&str>,
        message: String,
    ) -> Result<String, CoreError> {
        let attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| CoreError::service("sns", e.to_string()))
        };
        let mut call = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .subject(subject(subject_text))
            .message_attributes("status", attribute(status)?);
        // Every announcement of one ledger entry carries the same key, so a
        // consumer can drop repeats (a retried or re-sent announcement).
        if let Some(key) = dedupe_key {
            call = call.message_attributes("dedupeKey", attribute(key)?);
        }
        let out = call.send().await.map_err(|e| {
            let (code, detail) = describe(&e);
            match e.as_service_error() {
                Some(s) if s.is_not_found_exception() => CoreError::service(
                    "sns",
                    format!("topic {} not found: {detail}", self.topic_arn),
                ),
                Some(s) if s.is_kms_throttling_exception() => CoreError::throttled("sns", detail),
                _ if is_throttling(code.as_deref()) => CoreError::throttled("sns", detail),
                _ => CoreError::service("sns", format!("publish to {}: {detail}", self.topic_arn)),
            }
        })?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, CoreError> {
        let message = serde_json::to_string(notification).map_err(|e| {
            CoreError::service("sns", format!("cannot serialize the notification: {e}"))
        })?;
        self.publish_json(
            &notification.subject(),
            notification.status.as_str(),
            notification.dedupe_key.as_deref(),
            message,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{meta, mock_sdk};
    use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
    use aws_sdk_sns::types::error::NotFoundException;
    use aws_sdk_sns::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use incx_core::domain::decision::OperatorReason;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:exports";

    fn notification() -> Notification {
        Notification::needs_operator(
            "orders",
            "o1",
            "exec-1",
            &OperatorReason::PitrDisabled,
            None,
        )
    }

    #[test]
    fn subjects_are_printable_ascii_and_short() {
        assert_eq!(subject("FULL_EXPORT SUCCESS"), "FULL_EXPORT SUCCESS");
        assert_eq!(subject("\n tab\there é"), "tab here ?");
        assert_eq!(subject(&"x".repeat(300)).len(), SUBJECT_MAX);
        assert_eq!(subject("\u{7}"), "?");
        assert_eq!(subject(" \n"), "Export workflow");
    }

    #[tokio::test]
    async fn publishes_json_with_subject_and_status_attribute() {
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let body: serde_json::Value =
                    serde_json::from_str(r.message().unwrap_or_default()).unwrap_or_default();
                let status = r.message_attributes().and_then(|a| a.get("status"));
                r.topic_arn() == Some(TOPIC)
                    && r.subject() == Some("WORKFLOW FAILED")
                    && body["status"] == "FAILED"
                    && body["executionId"] == "exec-1"
                    && status.is_some_and(|s| {
                        s.data_type() == "String" && s.string_value() == Some("FAILED")
                    })
                    && r.message_attributes()
                        .is_some_and(|a| !a.contains_key("dedupeKey"))
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build());
        let keyed = mock!(Client::publish)
            .match_requests(|r| {
                let key = r.message_attributes().and_then(|a| a.get("dedupeKey"));
                key.and_then(|k| k.string_value()) == Some("o1/EXPORT#1/COMPLETED")
            })
            .then_output(|| PublishOutput::builder().message_id("m-2").build());
        let n = SnsNotifier::new(
            mock_sdk!(aws_sdk_sns, RuleMode::Sequential, [&rule, &keyed]),
            TOPIC,
        );
        assert_eq!(n.publish(&notification()).await.unwrap(), "m-1");
        // An announcement of a ledger entry carries its dedupe key.
        let announced = Notification {
            dedupe_key: Some("o1/EXPORT#1/COMPLETED".into()),
            ..notification()
        };
        assert_eq!(n.publish(&announced).await.unwrap(), "m-2");
        assert_eq!((rule.num_calls(), keyed.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn missing_topic_and_throttling_are_told_apart() {
        let missing = mock!(Client::publish)
            .then_error(|| PublishError::NotFoundException(NotFoundException::builder().build()));
        let throttled = mock!(Client::publish)
            .then_error(|| PublishError::generic(meta("Throttling", "Rate exceeded")));
        let n = SnsNotifier::new(
            mock_sdk!(aws_sdk_sns, RuleMode::Sequential, [&missing, &throttled]),
            TOPIC,
        );
        let e = n.publish(&notification()).await.unwrap_err();
        assert_eq!(e.error_type(), "ServiceFault");
        assert!(
            e.to_string().contains(&format!("topic {TOPIC} not found")),
            "{e}"
        );
        assert_eq!(
            n.publish(&notification()).await.unwrap_err().error_type(),
            "Throttled"
        );
    }
}
