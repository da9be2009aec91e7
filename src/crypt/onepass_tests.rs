use std::io::{self, Read};
use std::path::Path;

use super::*;
use crate::crypt::identity::NewIdentity;
use crate::crypt::stream::{encrypt, inspect};
use crate::crypt::Recipients;

/// A ciphertext of `plain` and the identity that opens it.
fn sealed(plain: &[u8]) -> (Identities, Vec<u8>) {
    let new = NewIdentity::generate();
    let ids = Identities::from_bytes(new.file_text().as_bytes(), Path::new("id"), || {
        panic!("no passphrase expected")
    })
    .unwrap();
    let set = Recipients::new(vec![new.recipient().unwrap()], "t").unwrap();
    (ids, encrypt(&set, &mut &plain[..], Vec::new()).unwrap().0)
}

fn run(ct: &[u8], hint: u64, ids: Option<&Identities>) -> StoredPass {
    check_stored(&mut &ct[..], hint, ids, "test object").unwrap()
}

/// Both ways (one thread, the pipeline) find the same facts; the ciphertext digest covers every
/// byte and the plaintext digest is the plaintext's.
#[test]
fn one_read_finds_every_fact_sequential_and_pipelined() {
    for len in [0usize, 1, 65536, 65537, 3 * PIECE + 17] {
        let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let (ids, ct) = sealed(&plain);
        let shape = inspect(&ct[..], ct.len() as u64, "t").unwrap();
        for hint in [ct.len() as u64, PIPELINE_FROM] {
            let pass = run(&ct, hint, Some(&ids));
            assert_eq!(pass.ciphertext, Digest::of(&ct));
            assert_eq!(pass.ciphertext_size, ct.len() as u64);
            assert_eq!(*pass.header.as_ref().unwrap(), shape.header_len);
            assert_eq!(pass.implied_plaintext_size("t").unwrap(), len as u64);
            let (digest, size) = pass.plaintext.unwrap().unwrap();
            assert_eq!((digest, size), (Digest::of(&plain), len as u64));
        }
        let keyless = run(&ct, PIPELINE_FROM, None);
        assert_eq!(keyless.ciphertext, Digest::of(&ct));
        assert!(keyless.plaintext.is_none());
    }
}

#[test]
fn wrong_identity_is_not_a_recipient_and_every_byte_is_still_hashed() {
    let plain = vec![7u8; 300_000];
    let (ids, _) = sealed(b"");
    let (_, ct) = sealed(&plain);
    for hint in [1, PIPELINE_FROM] {
        let pass = run(&ct, hint, Some(&ids));
        assert_eq!(pass.ciphertext, Digest::of(&ct));
        assert!(matches!(
            pass.plaintext,
            Some(Err(CryptError::NotARecipient { .. }))
        ));
    }
}

#[test]
fn damaged_chunk_is_damage_and_every_byte_is_still_hashed() {
    let plain = vec![9u8; 200_000];
    let (ids, mut ct) = sealed(&plain);
    let at = ct.len() - 5000;
    ct[at] ^= 1;
    for hint in [1, PIPELINE_FROM] {
        let pass = run(&ct, hint, Some(&ids));
        assert_eq!(pass.ciphertext, Digest::of(&ct));
        assert!(pass.header.is_ok());
        assert!(
            matches!(pass.plaintext, Some(Err(CryptError::Damaged { .. }))),
            "{:?}",
            pass.plaintext
        );
    }
}

#[test]
fn not_age_is_malformed_and_hashed() {
    let junk = vec![b'x'; 100_000];
    let (ids, _) = sealed(b"");
    for hint in [1, PIPELINE_FROM] {
        let pass = run(&junk, hint, Some(&ids));
        assert_eq!(pass.ciphertext, Digest::of(&junk));
        assert!(matches!(pass.header, Err(CryptError::Malformed { .. })));
        assert!(pass.plaintext.is_none());
        assert!(pass.implied_plaintext_size("t").is_err());
    }
}

/// A storage read error is the object's (unreadable), never damage.
#[test]
fn read_error_is_the_objects() {
    struct Failing(Vec<u8>, usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() / 2 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len() / 2 - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let (ids, ct) = sealed(&vec![1u8; 500_000]);
    for hint in [1, PIPELINE_FROM] {
        let err = check_stored(&mut Failing(ct.clone(), 0), hint, Some(&ids), "t").unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
