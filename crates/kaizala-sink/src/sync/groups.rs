//! Groups: `GET /groups` with every level and detail (or the groups asked
//! for, one by one), and each group's sub-groups.

use std::collections::BTreeSet;

use kaizala_types::GroupId;
use kaizala_types::groups::{GroupInfo, GroupType};

use super::{Run, SyncPhase, SyncProgress, api_error};
use crate::error::SinkError;
use crate::normalise::pulled::Document;

/// A group to sync.
pub(crate) struct Target {
    pub id: GroupId,
    /// A managed public group (it has subscribers).
    pub public: bool,
    /// It has (or may have) sub-groups.
    pub has_sub_groups: bool,
}

pub(crate) async fn sync_groups<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    wanted: Option<&[GroupId]>,
) -> Result<Vec<Target>, SinkError> {
    run.phase(SyncPhase::Groups, None);
    let mut documents = Vec::new();
    let listed: Vec<GroupInfo> = match wanted {
        None => {
            let list = run
                .client
                .groups()
                .list_detailed(true)
                .await
                .map_err(|e| api_error("listing groups", e))?;
            documents.push(Document::groups(&list));
            list.groups
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
                documents.push(Document::group(id, &info));
                infos.push(info);
            }
            infos
        }
    };
    run.append(documents, Vec::new()).await?;
    let mut targets = Vec::new();
    let mut seen = BTreeSet::new();
    for info in &listed {
        if seen.insert(info.group_id.to_string()) {
            targets.push(Target {
                id: info.group_id.clone(),
                public: info.group_type == Some(GroupType::ConnectGroup),
                has_sub_groups: info.has_sub_groups.is_none_or(|f| f.get()),
            });
        }
    }
    run.advance(listed.len() as u64);
    Ok(targets)
}

/// The group's direct sub-groups, so the sink knows which group is whose.
pub(crate) async fn sync_sub_groups<F: FnMut(&SyncProgress)>(
    run: &mut Run<'_, F>,
    group_id: &GroupId,
) -> Result<(), SinkError> {
    let list = match run
        .client
        .group(group_id.clone())
        .sub_groups()
        .list(false)
        .await
    {
        Ok(list) => list,
        Err(err) if run.skippable(&format!("sub-groups of {group_id}"), &err) => return Ok(()),
        Err(err) => return Err(api_error(format!("listing sub-groups of {group_id}"), err)),
    };
    run.report.sub_groups += list
        .groups()
        .iter()
        .map(|g| g.sub_groups.as_ref().map_or(0, Vec::len) as u64)
        .sum::<u64>();
    run.append(vec![Document::sub_groups(group_id, &list)], Vec::new())
        .await
}
