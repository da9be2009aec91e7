//! Encrypted documents on an archive on the store (issue 14): the cluster holds only the
//! ciphertext, another machine verifies both levels, a mirror to disk needs no identity.

use super::Site;

const SECRET: &str = "Witness W-017 names the child and the street.\n";

fn identity() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/vectors/encryption/identity.txt")
        .display()
        .to_string()
}

const RECIPIENT: &str = "age18ta5d3g6rp6qef4wcddv6kzx3jlr34najk6rjkw7crv4empcrpgqn4e3j3";

#[test]
fn the_cluster_holds_only_ciphertext_and_both_levels_verify() {
    let Some(site) = Site::new("encrypted") else {
        return;
    };
    site.ok(&["init", &site.url.clone(), "--recipient", RECIPIENT]);
    site.ok(&["key", "introduce", "--key", "signer.key"]);
    site.write("secret.txt", SECRET);
    let out = site.ok(&["add", "--encrypt", "secret.txt"]);
    let hex = out
        .split_whitespace()
        .next()
        .and_then(|d| d.strip_prefix("sha256:"))
        .expect("a digest")
        .to_string();
    site.seal();
    let stored = site
        .client()
        .get(&Site::object_key(&hex), 1 << 20)
        .expect("the ciphertext on the store");
    assert!(stored.starts_with(b"age-encryption.org/v1\n"));
    assert!(!stored.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    site.verified();
    let (code, stdout, stderr) = site.run_on(
        "verifier",
        &["verify", "--trust", "signer.pub", "--identity", &identity()],
    );
    assert_eq!(code, 0, "{stdout} {stderr}");
    assert!(
        stdout.contains("decrypts and matches its record"),
        "{stdout}"
    );
    let (code, stdout, stderr) =
        site.run_on("b", &["cat", "secret.txt", "--identity", &identity()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, SECRET);
    let copy = site.path("copy").display().to_string();
    let (code, _, stderr) = site.run_on("b", &["mirror", &site.url.clone(), &copy]);
    assert_eq!(code, 0, "{stderr}");
}
