//! The case title a bundle shows: the latest disclosed `case` record whose inclusion proof
//! verified, and, for a format-2 checkpoint, only if the signed reference map proves that no
//! later `case` record exists (docs/FORMAT.md §17, "Case title"). Nothing unsigned (origin,
//! bag-info, bundle.json) is ever shown as the title.

use serde::Serialize;

use crate::core::checkpoint::Checkpoint;
use crate::core::record::Record;

use super::disclosed::Disclosed;
use super::BundleReport;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BundleCase {
    pub title: String,
    /// `sha256:<hex>` of the `case` record.
    pub record: String,
    pub index: u64,
    /// The signed reference map proves it is the latest title the checkpoint covers (format
    /// 2); otherwise it is only the latest one disclosed (format 1).
    pub latest_proven: bool,
}

/// Sets `report.case` and says what is proven about it.
pub(super) fn report_case(
    cp: &Checkpoint,
    found: &Disclosed,
    case_latest: Option<u64>,
    report: &mut BundleReport,
) {
    let latest_disclosed = found
        .proven_leaves
        .iter()
        .filter_map(|(index, id, _)| match found.decoded.get(id) {
            Some(Record::Case(case)) => Some(BundleCase {
                title: case.title.clone(),
                record: id.to_prefixed(),
                index: *index,
                latest_proven: cp.refs.is_some() && case_latest == Some(*index),
            }),
            _ => None,
        })
        .max_by_key(|c| c.index);
    let core = &mut report.core;
    match (latest_disclosed, cp.refs.is_some(), case_latest) {
        (Some(case), true, _) if case.latest_proven => {
            core.proven.push(format!(
                "the case title \"{}\" is the latest title record (#{}) checkpoint {} covers",
                case.title, case.index, cp.number
            ));
            report.case = Some(case);
        }
        (_, true, Some(latest)) => core.not_proven.push(format!(
            "the case title: the latest title record (#{latest}) is not in the bundle; the origin names the case"
        )),
        (Some(case), false, _) => {
            core.not_proven.push(format!(
                "that the case title \"{}\" is the latest: a format-1 checkpoint does not commit to the set of title records",
                case.title
            ));
            report.case = Some(case);
        }
        _ => core.not_proven.push(
            "the case title: the bundle holds no title record (an older archive or bundle); the origin names the case".into(),
        ),
    }
}
