use super::copy::{create_new, read_back};
use super::*;

#[test]
fn an_export_of_more_documents_than_one_custody_record_holds_is_logged_in_parts() {
    let selected: Vec<Digest> = (0..MAX_CUSTODY_TARGETS as u32 * 2 + 1)
        .map(|i| Digest::of(&i.to_le_bytes()))
        .collect();
    let options = ExportOptions {
        out: PathBuf::from("bundle"),
        checkpoint: None,
        select: Vec::new(),
        all: true,
        recipient: Some("court".into()),
        actor: "clerk".into(),
        format: BundleFormat::Dir,
        bag_info: BagInfoFields::default(),
        encrypt_to: None,
        identity: None,
    };
    let summary = Summary {
        checkpoint: 3,
        tree_size: 1,
        documents: selected.len(),
        records: selected.len(),
        decrypted: 0,
        sealed_revealed: 0,
    };
    let events = export_events(&selected, &options, &summary);
    let mut named = Vec::new();
    for (i, event) in events.iter().enumerate() {
        // Each part is a valid record: the limit is enforced on encoding too.
        event.encode_checked().expect("a valid custody record");
        let Record::Custody(c) = event else {
            panic!("not custody")
        };
        assert!(c.targets.len() <= MAX_CUSTODY_TARGETS);
        let note = c.note.as_deref().expect("note");
        assert!(note.ends_with(&format!("part {} of 3", i + 1)), "{note}");
        named.extend(c.targets.iter().copied());
    }
    assert_eq!(events.len(), 3);
    assert_eq!(named, selected, "every document once, in order");
    let one = export_events(&selected[..1], &options, &summary);
    let Record::Custody(c) = &one[0] else {
        panic!("not custody")
    };
    assert!(!c.note.as_deref().expect("note").contains("part"));
}

#[test]
fn a_bundle_path_is_created_once_and_read_back_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.bin");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut file = create_new(&path).expect("created");
    std::io::Write::write_all(&mut file, &bytes).expect("written");
    // The read-back starts at the file's beginning whatever the handle's position.
    assert_eq!(
        read_back(&file, &path).expect("read back"),
        (Digest::of(&bytes), bytes.len() as u64)
    );
    // A second creation of the same path fails and leaves the first file as it was.
    let again = create_new(&path);
    assert!(
        matches!(again, Err(Error::Io { ref source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists),
        "{again:?}"
    );
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}
