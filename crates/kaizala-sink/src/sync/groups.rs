//! Groups: `GET /groups` with every level and detail (or the groups asked
//! for, one by one).

use std::collections::BTreeSet;

use kaizala_types::GroupId;
use kaizala_types::groups::{GroupInfo, GroupType};

use super::{Run, SyncPhase, SyncProgress, api_error};
use crate::db::now_millis;
use crate::error::SinkError;
use crate::normalise::{Rows, group};

/// A group to sync.
pub(crate) struct Target {
    pub id: GroupId,
    /// A managed public group (it has subscribers).
    pub public: bool,
}

pub(crate) async fn sync_groups<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    wanted: Option<&[GroupId]>,
) -> Result<Vec<Target>, SinkError> {
    run.phase(SyncPhase::Groups, None);
    let now = now_millis();
    let listed: Vec<GroupInfo> = match wanted {
        None => {
            run.client
                .groups()
                .list_detailed(true)
                .await
                .map_err(|e| api_error("listing groups", e))?
                .groups
        }
        Some(ids) => {
            let mut infos = Vec::new();
            for id in ids {
                let info = run
                    .client
                    .group(id.clone())
                    .get()
                    .await
                    .map_err(|e| api_error(format!("reading group {id}"), e))?;
                infos.push(info);
            }
            infos
        }
    };
    let mut rows = Rows::default();
    let mut targets = Vec::new();
    let mut seen = BTreeSet::new();
    for info in &listed {
        rows.groups.push(group::from_info(info, now));
        for sub in info.sub_groups.as_deref().unwrap_or_default() {
            rows.groups
                .push(group::from_sub_group(sub, info.group_id.as_str(), now));
        }
        if seen.insert(info.group_id.to_string()) {
            targets.push(Target {
                id: info.group_id.clone(),
                public: info.group_type == Some(GroupType::ConnectGroup),
            });
        }
    }
    run.apply(rows).await?;
    run.advance(listed.len() as u64);
    Ok(targets)
}
