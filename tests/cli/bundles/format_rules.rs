//! Rules of docs/FORMAT.md §17 that a forger could bend without touching signed data: the
//! BagIt declaration and the `exported_at` timestamp. Each forgery recomputes every unsigned
//! checksum, so only the rule itself can catch it.

use super::*;

#[test]
fn bagit_version_other_than_1_0_is_refused() {
    let (ws, bundle, _) = exported();
    for declaration in [
        "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n",
        "BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n",
        "BagIt-Version: 1.0\n",
    ] {
        fs::write(bundle.join("bagit.txt"), declaration).expect("write bagit.txt");
        retag(&bundle);
        assert_bundle_problem(&ws, &bundle, "bad-bag", &["bagit.txt"]);
    }
    // The declaration evidentia writes is still accepted after the same rewrite.
    fs::write(bundle.join("bagit.txt"), bagit::BAGIT_TXT).expect("write bagit.txt");
    retag(&bundle);
    assert_bundle_ok(&ws, &bundle);
}

#[test]
fn non_canonical_exported_at_is_refused() {
    let (ws, bundle, _) = exported();
    let original = read_manifest(&bundle);
    for stamp in [
        "2026-11-30T18:00:00+00:00",
        "2026-11-30t18:00:00z",
        "2026-11-30T18:00:00.50Z",
        "2026-11-30 18:00:00Z",
        "yesterday",
    ] {
        let mut manifest = original.clone();
        manifest["exported_at"] = Value::from(stamp);
        write_manifest(&bundle, &manifest);
        rebag(&bundle);
        let codes = assert_bundle_problem(&ws, &bundle, "bad-manifest", &["data/bundle.json"]);
        assert_eq!(
            codes,
            vec!["bad-manifest"],
            "{stamp}: only the timestamp is at fault"
        );
    }
    // A canonical time other than the real one is the exporter's claim, not a fault.
    let mut manifest = original;
    manifest["exported_at"] = Value::from("2026-11-30T18:00:00.5Z");
    write_manifest(&bundle, &manifest);
    rebag(&bundle);
    assert_bundle_ok(&ws, &bundle);
}
