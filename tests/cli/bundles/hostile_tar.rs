//! Hostile tar files, built entry by entry with the tar crate.

use super::*;

/// Appends an entry with `name` written raw into the header (the tar crate's own path setters
/// refuse `..` and absolute paths, as they should).
fn raw_entry<W: std::io::Write>(
    builder: &mut tar::Builder<W>,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut header = tar::Header::new_old();
    let field = &mut header.as_old_mut().name;
    assert!(name.len() < field.len(), "name too long for a tar header");
    field[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(link) = link {
        let field = &mut header.as_old_mut().linkname;
        field[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder.append(&header, data).expect("append entry");
}

/// The valid bundle as a tar with `hostile` entries first.
fn hostile_tar(bundle: &Path, out: &Path, hostile: impl FnOnce(&mut tar::Builder<fs::File>)) {
    let mut builder = tar::Builder::new(fs::File::create(out).expect("create tar"));
    hostile(&mut builder);
    for entry in walkdir::WalkDir::new(bundle)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.expect("walk");
        let relative = entry.path().strip_prefix(bundle).expect("inside");
        builder
            .append_path_with_name(entry.path(), relative)
            .expect("append");
    }
    builder.finish().expect("finish tar");
}

/// Verifies a hostile tar with TMPDIR inside the workspace; checks nothing escaped and the
/// scratch space was cleaned up.
fn assert_tar_problem(ws: &Workspace, tar_file: &Path, code: &str, items: &[&str]) {
    let scratch = ws.path("scratch/inner");
    fs::create_dir_all(&scratch).expect("mkdir");
    let before = snapshot(&ws.path(""));
    assert_bundle_problem_env(ws, tar_file, code, items, &[("TMPDIR", &scratch)]);
    for path in [
        ws.path("escape"),
        ws.path("scratch/escape"),
        ws.path("scratch/inner/escape"),
        ws.path("outside/abs-escape"),
        ws.path("outside/link-target-written"),
    ] {
        assert!(!path.exists(), "{} was written", path.display());
    }
    let leftover: Vec<_> = fs::read_dir(&scratch).expect("list").collect();
    assert!(leftover.is_empty(), "scratch left behind: {leftover:?}");
    // Nothing else in the workspace changed (the archive, the keys, the bundle).
    let after = snapshot(&ws.path(""));
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(p, s)| before.get(*p) != Some(s) && !p.starts_with(ws.path("scratch")))
        .map(|(p, _)| p)
        .collect();
    assert!(changed.is_empty(), "verify changed {changed:?}");
}

#[test]
fn tar_with_parent_directory_entry() {
    let (ws, bundle, _) = exported();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        raw_entry(b, "../escape", tar::EntryType::Regular, None, b"escaped\n");
        raw_entry(
            b,
            "data/../../escape",
            tar::EntryType::Regular,
            None,
            b"escaped\n",
        );
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-path", &["../escape"]);
    assert_tar_problem(&ws, &tar_file, "unsafe-path", &["data/../../escape"]);
}

#[test]
fn tar_with_symlink_entry() {
    let (ws, bundle, _) = exported();
    fs::create_dir_all(ws.path("outside")).expect("mkdir");
    let target = path_str(&ws.path("outside/link-target-written")).to_string();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        // A link, then a file written through it if links were honoured.
        raw_entry(b, "data/evil", tar::EntryType::Symlink, Some(&target), b"");
        raw_entry(
            b,
            "data/evil",
            tar::EntryType::Regular,
            None,
            b"through the link\n",
        );
        raw_entry(
            b,
            "data/hard",
            tar::EntryType::Link,
            Some("/etc/passwd"),
            b"",
        );
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/evil"]);
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/hard"]);
}

#[test]
fn tar_with_absolute_path_entry() {
    let (ws, bundle, _) = exported();
    fs::create_dir_all(ws.path("outside")).expect("mkdir");
    let absolute = path_str(&ws.path("outside/abs-escape")).to_string();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        raw_entry(b, &absolute, tar::EntryType::Regular, None, b"escaped\n");
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-path", &[&absolute]);
}

#[test]
fn tar_with_device_entry_and_garbage() {
    let (ws, bundle, _) = exported();
    let tar_file = ws.path("hostile.tar");
    hostile_tar(&bundle, &tar_file, |b| {
        raw_entry(b, "data/fifo", tar::EntryType::Fifo, None, b"");
        raw_entry(b, "data/dev", tar::EntryType::Char, None, b"");
    });
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/fifo"]);
    assert_tar_problem(&ws, &tar_file, "unsafe-entry", &["data/dev"]);

    // Not a tar at all: unreadable input (2) or a failed verification (1), never success.
    let garbage = ws.write("garbage.tar", vec![0x5au8; 4096]);
    let (code, _, stderr) = run(
        &ws,
        &["verify", path_str(&garbage), "--trust", "signer.pub"],
        &[],
    );
    assert!(code == 1 || code == 2, "{code}: {stderr}");
    assert!(
        !stderr.contains("--integrity-only"),
        "refused for the tar: {stderr}"
    );
}
