//! `metadata`: collection metadata added to a document already recorded, and the collection
//! options it shares with `add`.

use anyhow::Result;
use clap::Args;

use evidentia::archive::metadata;
use evidentia::archive::Archive;
use evidentia::core::record::Collection;
use evidentia::core::timestamp::Timestamp;
use evidentia::Error;

/// How and by whom material was collected (Berkeley Protocol collection record).
#[derive(Args, Debug)]
pub(super) struct CollectionArgs {
    /// Where the material was collected from
    #[arg(long, value_name = "URL")]
    source_url: Option<String>,
    /// When it was collected (RFC 3339, e.g. 2024-03-01T14:05:00Z or
    /// 2024-03-01T16:05:00+02:00; the offset given is kept)
    #[arg(long, value_name = "RFC3339")]
    collected_at: Option<String>,
    /// Who collected it
    #[arg(long, value_name = "NAME")]
    collector: Option<String>,
    /// The capture tool and method
    #[arg(long, value_name = "TEXT")]
    tool: Option<String>,
    /// A free note
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// A tag (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
}

impl CollectionArgs {
    pub(super) fn into_collection(self) -> Result<Collection, Error> {
        let (collected_at, collected_offset) = match self.collected_at.as_deref() {
            Some(text) => {
                let (at, offset) =
                    Timestamp::parse_with_offset(text).map_err(|e| Error::InvalidOption {
                        option: "--collected-at",
                        value: text.to_string(),
                        why: e.to_string(),
                    })?;
                (Some(at), offset)
            }
            None => (None, None),
        };
        Ok(Collection {
            source_url: self.source_url,
            collected_at,
            collected_offset,
            collector: self.collector,
            tool: self.tool,
            note: self.note,
            tags: self.tags,
        })
    }
}

#[derive(Args, Debug)]
pub(super) struct MetadataArgs {
    /// The document: a logical path or content digest (its latest version), or a document
    /// record's id
    target: String,
    #[command(flatten)]
    collection: CollectionArgs,
}

pub(super) fn run(archive: &Archive, args: MetadataArgs) -> Result<()> {
    let given = args.collection.into_collection()?;
    let outcome = metadata::add_metadata(archive, &args.target, &given)?;
    match outcome.record {
        Some(id) => {
            outln!("sha256:{id}");
            errln!(
                "metadata recorded for {} (document record sha256:{}); run `evidentia seal` to sign a checkpoint",
                outcome.path,
                outcome.target
            );
        }
        None => errln!(
            "unchanged: {} (document record sha256:{}) already has this metadata; nothing added",
            outcome.path,
            outcome.target
        ),
    }
    Ok(())
}
