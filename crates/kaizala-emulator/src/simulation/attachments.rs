//! `POST /admin/simulate/attachments {groupId, count, caption?}`: members
//! send pictures (`AttachmentCreated`), recorded as Image posts with their
//! media files, named the way phones name them.

use bytes::Bytes;
use kaizala_types::actions::ActionType;
use kaizala_types::common::MediaItem;
use kaizala_types::event::{AttachmentData, EventData, EventType};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, json};

use super::random::{self, pick};
use super::request::Body;
use super::{Produced, corpus, finish};
use crate::events::Happening;
use crate::http::{ApiError, Reply};
use crate::model::{Action, MediaFile};
use crate::shared::Shared;

/// India Standard Time, UTC+05:30, in milliseconds: phones name files by local time.
const IST_MS: i64 = 19_800_000;

/// A picture taken a little before `now_ms`: its file record (the emulator
/// does not serve the file itself).
pub fn picture(rng: &mut StdRng, base_url: &str, now_ms: i64) -> MediaFile {
    let taken = now_ms - rng.random_range(5_000..3_600_000);
    let (year, month, day, hour, minute, second, ms) = civil(taken + IST_MS);
    let file_name = match rng.random_range(0..3) {
        // What the Kaizala app named them (EventSchema.md's samples).
        0 | 1 => format!(
            "IMG_{:02}-{month:02}-{day:02}_{hour:02}{minute:02}{second:02}{ms:03}_1.jpg",
            year % 100
        ),
        // Forwarded from another messenger.
        _ => format!(
            "IMG-{year:04}{month:02}{day:02}-WA{:04}.jpg",
            rng.random_range(0..400)
        ),
    };
    // Like an upload through `/media`: an opaque resource, a URL under the
    // emulator (which does not serve the file).
    let resource = format!("kz-media-{}", random::hex(rng, 48));
    MediaFile {
        url: format!("{base_url}/media/{resource}/{file_name}"),
        resource,
        file_name,
        content_type: "image/jpeg".into(),
        size: rng.random_range(60_000..3_500_000),
        uploaded_ms: now_ms,
    }
}

/// The `media` item of an event for a file.
pub fn media_item(file: &MediaFile) -> MediaItem {
    MediaItem {
        media_url: Some(file.url.clone()),
        media_file_name: Some(file.file_name.clone()),
        ..Default::default()
    }
}

/// Year, month, day, hour, minute, second, millisecond of epoch milliseconds.
fn civil(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let days = ms.div_euclid(86_400_000);
    let of_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000,
    )
}

/// Runs the simulation.
pub fn simulate(shared: &Shared, body: &Bytes) -> Result<Reply, ApiError> {
    let body = Body::parse(body, &["groupId", "count", "caption"])?;
    let group_id = body.required_string("groupId")?;
    let count = body.positive_count("count")?;
    let caption = body.string("caption")?;
    let mut rng = random::for_call(shared);
    let now = shared.now_ms();

    let (produced, reference_ids) = shared.store.write(|state| {
        let group = super::group(state, &group_id)?.clone();
        let senders = super::members(&group)?;
        let weights = random::activity(&senders);
        let mut produced = Produced::default();
        produced.listen(state, &group.tenant);
        let mut reference_ids = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let sender = &senders[weights.draw(&mut rng)];
            let caption = match &caption {
                Some(caption) => Some(caption.clone()),
                None if rng.random_bool(0.75) => {
                    let template = pick(&mut rng, corpus::CAPTIONS);
                    Some(random::fill(&mut rng, template, random::city_of(sender)))
                }
                None => None,
            };
            let file = picture(&mut rng, &shared.base_url, now);
            let mut post = json!({"mediaResource": file.resource});
            if let Some(caption) = &caption {
                post["caption"] = json!(caption);
            }
            let reference_id = random::guid(&mut rng);
            let action_id = random::guid(&mut rng);
            state.actions.insert(
                action_id.clone(),
                Action {
                    id: action_id,
                    reference_id: reference_id.clone(),
                    group_id: group.id.clone(),
                    action_type: Some(ActionType::Image.to_string()),
                    package_id: None,
                    body: post,
                    sender: sender.clone(),
                    sent_ms: now,
                    expiry_ms: None,
                    responses: Vec::new(),
                },
            );
            let data = AttachmentData {
                media: Some(vec![media_item(&file)]),
                action_type: Some(ActionType::Image),
                caption,
                ..Default::default()
            };
            state.media.insert(file.resource.clone(), file);
            produced.push(Happening {
                tenant: group.tenant.clone(),
                group_id: group.id.clone(),
                event_type: EventType::AttachmentCreated,
                action_id: None,
                package_id: None,
                from_user: Some(sender.clone()),
                data: EventData::Attachment(data),
            });
            reference_ids.push(reference_id);
        }
        Ok::<_, ApiError>((produced, reference_ids))
    })?;

    let mut summary = Map::new();
    summary.insert("groupId".into(), json!(group_id));
    summary.insert("attachments".into(), json!(reference_ids.len()));
    summary.insert("referenceIds".into(), json!(reference_ids));
    Ok(finish(shared, produced, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        // 2018-03-22T16:52:20.084Z
        assert_eq!(civil(1_521_737_540_084), (2018, 3, 22, 16, 52, 20, 84));
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0, 0));
        assert_eq!(civil(951_782_400_000), (2000, 2, 29, 0, 0, 0, 0));
    }
}
