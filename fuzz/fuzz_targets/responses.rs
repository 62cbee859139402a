//! Every operation's response parser, on any status, `Retry-After` and body.
//!
//! The first byte picks the status; the bytes up to the first newline are
//! the `Retry-After` header (when they make a header value) and the rest is
//! the body. No parser panics, and every error says something.

#![no_main]

use bytes::Bytes;
use kaizala_core::endpoint::Endpoint;
use kaizala_core::ops::*;
use libfuzzer_sys::fuzz_target;

/// What the platform answers: success, its redirect to another endpoint
/// URL, client and server errors, throttling.
const STATUSES: [u16; 12] = [200, 201, 204, 308, 400, 401, 403, 404, 408, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(first) % STATUSES.len()];
    let (retry_after, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&[][..], rest),
    };
    let mut builder = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Ok(value) = http::HeaderValue::from_bytes(retry_after) {
        builder = builder.header("retry-after", value);
    }
    if status == 308 {
        builder = builder.header("location", "https://kms2.kaiza.la/");
    }
    let response = builder.body(Bytes::copy_from_slice(body)).unwrap();
    parse_with_every_operation(&response);
});

macro_rules! every_operation {
    ($response:expr; $($op:ty),* $(,)?) => {$(
        if let Err(err) = <$op as Endpoint>::parse($response.clone()) {
            assert!(!err.to_string().is_empty(), "{}: an error without a message", stringify!($op));
        }
    )*};
}

fn parse_with_every_operation(response: &http::Response<Bytes>) {
    every_operation!(response;
        actions::CreateAction, actions::ListActions, actions::GetAction,
        auth::GeneratePin, auth::LoginWithPin, auth::GetAccessToken, auth::OAuthToken,
        groups::CreateGroup, groups::ListGroups, groups::GetGroup,
        members::ListMembers, members::AddMembers, members::RemoveMember,
        media::UploadMedia,
        messages::SendMessage,
        reactions::PostReaction, reactions::GetReactionSummaryForAction,
        reactions::GetReactionSummaryForGroup, reactions::GetReactionDetails,
        responses::PostActionResponse,
        subgroups::ListSubGroups, subgroups::CreateSubGroup, subgroups::AddSubGroups,
        subgroups::RemoveSubGroup,
        subscribers::ListSubscribers, subscribers::AddSubscribers,
        subscribers::RemoveSubscribers,
        webhooks::CreateWebhook, webhooks::ListWebhooks, webhooks::UpdateWebhook,
        webhooks::DeleteWebhook,
    );
}
