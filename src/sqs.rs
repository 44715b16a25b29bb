//! SQS: the re-check queue of inference components still settling.

use crate::aws::Aws;
use crate::event::Recheck;
use crate::retry::{AwsError, Deadline, Op, call};

impl Aws {
    /// Asks for another look at an IC after `delay_seconds` (at most 900, SQS's limit).
    pub async fn send_recheck(
        &self,
        queue_url: &str,
        recheck: &Recheck,
        delay_seconds: i32,
        dl: &Deadline,
    ) -> Result<(), AwsError> {
        let body = serde_json::to_string(recheck).unwrap_or_default();
        call(Op::SendMessage, &recheck.inference_component, dl, || {
            self.sqs()
                .send_message()
                .queue_url(queue_url)
                .message_body(&body)
                .delay_seconds(delay_seconds.clamp(0, 900))
                .send()
        })
        .await?;
        Ok(())
    }
}
