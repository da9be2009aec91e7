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
    };
    let summary = Summary {
        checkpoint: 3,
        tree_size: 1,
        documents: selected.len(),
        records: selected.len(),
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
