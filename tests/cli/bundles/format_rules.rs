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

#[test]
fn a_tag_file_that_is_not_utf8_is_refused() {
    let (ws, bundle, _) = exported();
    fs::write(bundle.join("bagit.txt"), b"BagIt-Version: 1.0\n\xff\xfe\n").expect("write");
    retag(&bundle);
    assert_bundle_problem(&ws, &bundle, "bad-tag-file", &["bagit.txt"]);
}

#[test]
fn an_altered_consistency_proof_is_refused() {
    let (ws, _, _) = exported();
    ws.write("case/d.txt", "Statement of witness D, 2022-03-12.\n");
    ws.add(&["case/d.txt"]);
    ws.seal();
    let bundle = ws.path("bundle-2");
    export(&ws, &bundle, &["--select", "case/a.txt"]);
    assert_bundle_ok(&ws, &bundle);
    let original = read_manifest(&bundle);
    assert_eq!(original["consistency"][0]["checkpoint"], 1, "{original}");
    // A proof hash, or the earlier root it starts from, altered (as a forger claiming another
    // history would), with every checksum recomputed.
    for field in ["proof", "root"] {
        let mut manifest = original.clone();
        let entry = &mut manifest["consistency"][0];
        let hex = match field {
            "proof" => entry["proof"][0].as_str(),
            _ => entry["root"].as_str(),
        }
        .expect("hex")
        .to_string();
        let flipped = format!(
            "{}{}",
            if hex.starts_with('0') { "1" } else { "0" },
            &hex[1..]
        );
        match field {
            "proof" => entry["proof"][0] = Value::from(flipped),
            _ => entry["root"] = Value::from(flipped),
        }
        write_manifest(&bundle, &manifest);
        rebag(&bundle);
        let codes = assert_bundle_problem(
            &ws,
            &bundle,
            "consistency-invalid",
            &["consistency from checkpoint 1"],
        );
        assert_eq!(codes, vec!["consistency-invalid"], "{field}");
    }
}
