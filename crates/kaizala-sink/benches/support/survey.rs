//! The 2,150-byte SurveyResponse callback
//! (`crates/kaizala-types/benches/data/survey_response_2k.json`) as a
//! stream of distinct deliveries.

use std::io::Write;
use std::sync::LazyLock;

use bytes::Bytes;

const SAMPLE: &[u8] = include_bytes!("../../../kaizala-types/benches/data/survey_response_2k.json");
const SAMPLE_EVENT_ID: &str = "3e49b367-acf6-48a7-a675-6bf4d372a070";
const SAMPLE_RESPONSE_ID: &str = "420e9ef0-2a6d-4059-a2bf-2688648ce79a";

/// The sample with `eventId` and `responseId` number `n`, the same length
/// as the sample's. Each is a new response too: the same `responseId`
/// under a hundred thousand event ids would be one response resubmitted
/// that often, which no survey sends (and which the projector writes row
/// by row, as it must for repeated keys).
pub fn survey(n: u64) -> Bytes {
    static AT: LazyLock<(usize, usize)> = LazyLock::new(|| {
        let text = std::str::from_utf8(SAMPLE).expect("UTF-8");
        let event = text.find(SAMPLE_EVENT_ID).expect("the sample's eventId");
        let response = text
            .find(SAMPLE_RESPONSE_ID)
            .expect("the sample's responseId");
        assert!(event < response);
        (event, response)
    });
    let (event, response) = *AT;
    let mut body = Vec::with_capacity(SAMPLE.len());
    body.extend_from_slice(&SAMPLE[..event]);
    write!(body, "00000000-0000-4000-8000-{n:012x}").expect("writing to a Vec");
    body.extend_from_slice(&SAMPLE[event + SAMPLE_EVENT_ID.len()..response]);
    write!(body, "11111111-0000-4000-8000-{n:012x}").expect("writing to a Vec");
    body.extend_from_slice(&SAMPLE[response + SAMPLE_RESPONSE_ID.len()..]);
    debug_assert_eq!(body.len(), SAMPLE.len());
    Bytes::from(body)
}
