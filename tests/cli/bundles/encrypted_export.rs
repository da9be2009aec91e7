//! Exporting documents stored encrypted (`add --encrypt`; FORMAT.md §23.9): with the archive's
//! identity, in the clear (the plaintext checked by both verifiers against the signed binding:
//! the plaintext digest, or the commitment opened by the disclosed salt), or re-encrypted to a
//! court (`--encrypt-to`; the opening sealed again to the court). Logged as a decryption.
//! Without the identity the export is refused. Forgeries recompute every unsigned manifest.

use super::encrypted::{export_to_court, identity, verify_as_court, RECIPIENT};
use super::*;
use evidentia::crypt::{stream, NewIdentity, Opening, Recipients};

const OPEN: &str = "Statement of witness C, open digest.\n";
const HIDDEN: &str = "Statement naming the child: Mykola, 9.\n";
const PLAIN: &str = "A public report, stored in the clear.\n";

/// An archive holding a clear document, one stored encrypted with its plaintext digest open
/// and one with it hidden (`--hide-digest`), sealed.
fn mixed_archive() -> Workspace {
    let ws = Workspace::new();
    let (code, _, stderr) = run(&ws, &["recipients", "set", "--recipient", RECIPIENT], &[]);
    assert_eq!(code, 0, "{stderr}");
    ws.write("plain.txt", PLAIN);
    ws.write("open.txt", OPEN);
    ws.write("hidden.txt", HIDDEN);
    ws.add(&["plain.txt"]);
    for (file, extra) in [("open.txt", None), ("hidden.txt", Some("--hide-digest"))] {
        let mut args = vec!["add", "--encrypt", file];
        args.extend(extra);
        let (code, _, stderr) = run(&ws, &args, &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    ws.seal();
    ws
}

/// A clear export of the mixed archive, decrypted with the archive's identity.
fn clear_bundle() -> (Workspace, PathBuf) {
    let ws = mixed_archive();
    let bundle = ws.path("bundle");
    let identity = identity();
    export(&ws, &bundle, &["--all", "--identity", &identity]);
    (ws, bundle)
}

/// The listing of `path` in data/bundle.json.
fn listed<'a>(manifest: &'a mut Value, path: &str) -> &'a mut Value {
    (manifest["documents"].as_array_mut().expect("documents"))
        .iter_mut()
        .find(|d| d["path"] == path)
        .expect("listed")
}

/// Replaces `path`'s file with `bytes` and relists it as `bytes`, as a forger would.
fn swap_plaintext(bundle: &Path, path: &str, bytes: &[u8]) {
    let mut manifest = read_manifest(bundle);
    let entry = listed(&mut manifest, path);
    let file = entry["file"].as_str().expect("file").to_string();
    fs::write(bundle.join(&file), bytes).expect("write");
    entry["decrypted"]["sha256"] = Digest::of(bytes).to_hex().into();
    entry["decrypted"]["size"] = (bytes.len() as u64).into();
    write_manifest(bundle, &manifest);
}

pub(super) fn edit_listing(bundle: &Path, path: &str, edit: impl FnOnce(&mut Value)) {
    let mut manifest = read_manifest(bundle);
    edit(listed(&mut manifest, path));
    write_manifest(bundle, &manifest);
    rebag(bundle);
}

#[test]
fn a_clear_export_of_encrypted_documents_verifies_in_both_verifiers_and_is_logged() {
    let (ws, bundle) = clear_bundle();
    for (path, text) in [
        ("open.txt", OPEN),
        ("hidden.txt", HIDDEN),
        ("plain.txt", PLAIN),
    ] {
        let found = fs::read_to_string(bundle.join("data/documents").join(path));
        assert_eq!(found.expect("document file"), text);
    }
    let mut manifest = read_manifest(&bundle);
    let hidden = listed(&mut manifest, "hidden.txt")["decrypted"].clone();
    assert!(hidden["salt"].is_string(), "{hidden}");
    assert_eq!(hidden["sha256"], Digest::of(HIDDEN.as_bytes()).to_hex());
    let open = listed(&mut manifest, "open.txt")["decrypted"].clone();
    assert!(open.get("salt").is_none(), "{open}");
    assert!(listed(&mut manifest, "plain.txt")
        .get("decrypted")
        .is_none());
    let report = assert_bundle_ok(&ws, &bundle);
    let proven = strings(&report["proven"]).join("\n");
    assert!(
        proven.contains("2 of the documents are stored encrypted"),
        "{proven}"
    );
    let documents = report["documents"].as_array().expect("documents");
    assert!(documents.iter().all(|d| d["content_checked"] == true));
    // Logged as a decryption, with the key that decrypted.
    let (code, log, _) = run(&ws, &["log", "--kind", "custody", "--json"], &[]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("2 document(s) stored encrypted decrypted"),
        "{log}"
    );
    assert!(log.contains(RECIPIENT), "{log}");
}

#[test]
fn without_the_identity_the_export_is_refused_and_nothing_logged() {
    let ws = mixed_archive();
    let bundle = ws.path("bundle");
    for extra in [&[][..], &["--encrypt-to", RECIPIENT][..]] {
        let mut args = vec!["--all"];
        args.extend_from_slice(extra);
        let stderr = export_refused(&ws, &bundle, &args);
        assert!(stderr.contains("--identity"), "{stderr}");
        assert!(stderr.contains("open.txt"), "{stderr}");
    }
    // A selection of clear documents only needs none.
    export(&ws, &bundle, &["--select", "plain.txt"]);
}

#[test]
fn a_swapped_plaintext_is_caught_against_the_signed_digest() {
    let (ws, bundle) = clear_bundle();
    let forged = OPEN.replace("witness C", "witness D");
    swap_plaintext(&bundle, "open.txt", forged.as_bytes());
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "plaintext-mismatch", &["open.txt"]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn a_swapped_plaintext_under_a_commitment_is_caught() {
    let (ws, bundle) = clear_bundle();
    let forged = HIDDEN.replace("Mykola", "Andrii");
    swap_plaintext(&bundle, "hidden.txt", forged.as_bytes());
    rebag(&bundle);
    let codes = assert_bundle_problem(&ws, &bundle, "opening-mismatch", &["hidden.txt"]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn an_altered_salt_is_caught() {
    let (ws, bundle) = clear_bundle();
    edit_listing(&bundle, "hidden.txt", |entry| {
        entry["decrypted"]["salt"] = "07".repeat(32).into();
    });
    let codes = assert_bundle_problem(&ws, &bundle, "opening-mismatch", &["hidden.txt"]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn clear_bytes_without_an_opening_of_a_hidden_digest_are_not_accepted() {
    let (ws, bundle) = clear_bundle();
    edit_listing(&bundle, "hidden.txt", |entry| {
        entry["decrypted"]
            .as_object_mut()
            .expect("decrypted")
            .remove("salt");
    });
    let codes = assert_bundle_problem(&ws, &bundle, "opening-missing", &["hidden.txt"]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
    // Without the listing at all, the file must be the stored ciphertext, which it is not.
    let (ws, bundle) = clear_bundle();
    edit_listing(&bundle, "hidden.txt", |entry| {
        entry.as_object_mut().expect("entry").remove("decrypted");
    });
    let codes = assert_bundle_problem(&ws, &bundle, "content-corrupt", &["hidden.txt"]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

/// The mixed archive exported with the archive identity and re-encrypted to a new court key;
/// returns the court identity's file too.
pub(super) fn court_bundle() -> (Workspace, PathBuf, PathBuf, String) {
    let ws = mixed_archive();
    let (bundle, court_file, court_key) = export_to_court(&ws);
    (ws, bundle, court_file, court_key)
}

#[test]
fn re_encrypted_to_a_court_it_is_not_provable_without_the_court_identity_and_verified_with() {
    let (ws, bundle, court_file, court_key) = court_bundle();
    let stored = fs::read(bundle.join("data/documents/hidden.txt.age")).expect("file");
    assert!(
        !stored.windows(6).any(|w| w == b"Mykola"),
        "plaintext leaked"
    );
    let mut manifest = read_manifest(&bundle);
    let hidden = listed(&mut manifest, "hidden.txt")["decrypted"].clone();
    assert!(hidden["opening"].is_string() && hidden.get("salt").is_none());
    assert!(hidden.get("sha256").is_none(), "{hidden}");
    let (code, report) = verify_as_court(&ws, &bundle, &court_file);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["encryption"]["plaintext_checked"], 3, "{report}");
    let (code, log, _) = run(&ws, &["log", "--kind", "custody", "--json"], &[]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("decrypted and re-encrypted"), "{log}");
    assert!(log.contains(&court_key), "{log}");
}

#[test]
fn a_forged_opening_to_the_court_is_caught_with_the_court_identity() {
    // Anyone holding the court's public key can seal an opening of other bytes and encrypt
    // those bytes: every size and ciphertext check holds; the commitment does not open.
    let (ws, bundle, court_file, court_key) = court_bundle();
    let court = Recipients::parse_all(&[court_key.as_str()], "test").expect("recipient");
    let forged = HIDDEN.replace("Mykola", "Andrii");
    let (ciphertext, _) =
        stream::encrypt(&court, &mut forged.as_bytes(), Vec::new()).expect("encrypt");
    fs::write(bundle.join("data/documents/hidden.txt.age"), ciphertext).expect("write");
    let opening = Opening::new(Digest::of(forged.as_bytes()))
        .seal(&court)
        .expect("seal");
    edit_listing(&bundle, "hidden.txt", |entry| {
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode(opening);
        entry["decrypted"]["opening"] = text.into();
    });
    let with = ["--trust", "signer.pub", "--identity", path_str(&court_file)];
    let (code, report) = verify_json(&ws, &bundle, &with);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        Workspace::problem_codes(&report),
        vec!["opening-mismatch".to_string()],
        "{report}"
    );
    // Dropping the opening instead: caught without any key.
    edit_listing(&bundle, "hidden.txt", |entry| {
        let decrypted = entry["decrypted"].as_object_mut().expect("decrypted");
        decrypted.remove("opening");
    });
    let codes = assert_bundle_problem(&ws, &bundle, "opening-missing", &["hidden.txt"]);
    differential::assert_script_agrees(&ws, &bundle, 1, &codes);
}

#[test]
fn a_picture_stored_encrypted_and_exported_clear_is_shown_and_verified_by_both() {
    let ws = mixed_archive();
    ws.write("photo.png", super::report_images::png(40, 30));
    let (code, _, stderr) = run(&ws, &["add", "--encrypt", "photo.png"], &[]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    let identity = identity();
    export(&ws, &bundle, &["--all", "--identity", &identity]);
    let page = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(
        page.contains("<img"),
        "the checked plaintext is a picture like any other"
    );
    assert_bundle_ok(&ws, &bundle);
}

#[test]
fn an_identity_that_opens_only_a_rewrap_exports_from_the_rewrap() {
    // The archive's key changed and the documents were rewrapped to the new one: the new
    // identity cannot open the original ciphertexts, only the rewraps.
    let ws = mixed_archive();
    let new = NewIdentity::generate();
    let new_file = ws.path("new-identity.txt");
    fs::write(&new_file, new.file_text().as_bytes()).expect("write identity");
    let new_key = new.recipient().expect("recipient").as_str().to_string();
    let old = identity();
    for args in [
        &["recipients", "set", "--recipient", new_key.as_str()][..],
        &["rewrap", "--all", "--identity", old.as_str()][..],
    ] {
        let (code, _, stderr) = run(&ws, args, &[]);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    ws.seal();
    for (out, extra) in [("clear", None), ("court", Some(RECIPIENT))] {
        let bundle = ws.path(out);
        let mut args = vec!["--all", "--identity", path_str(&new_file)];
        if let Some(court) = extra {
            args.extend(["--encrypt-to", court]);
        }
        export(&ws, &bundle, &args);
        if extra.is_none() {
            assert_bundle_ok(&ws, &bundle);
        } else {
            let with = ["--trust", "signer.pub", "--identity", &old];
            let (code, report) = verify_json(&ws, &bundle, &with);
            assert_eq!(code, 0, "{report}");
        }
    }
}
