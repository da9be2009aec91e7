use super::*;

#[test]
fn stores_streams_and_dedupes() {
    let dir = tempfile::tempdir().unwrap();
    FsObjectStore::create_layout(dir.path()).unwrap();
    let store = FsObjectStore::new(dir.path());
    // Larger than one block, to go through the pipelined path.
    let data: Vec<u8> = (0..(BLOCK * 3 + 17)).map(|i| (i % 251) as u8).collect();
    let writer = store.writer(1).unwrap();
    let first = writer
        .put_stream(&mut data.as_slice(), Path::new("test"))
        .unwrap();
    assert_eq!(first.digest, Digest::of(&data));
    assert_eq!(first.size, data.len() as u64);
    assert!(first.newly_stored);
    let again = writer
        .put_stream(&mut data.as_slice(), Path::new("test"))
        .unwrap();
    assert!(!again.newly_stored);
    let max = data.len() as u64;
    assert_eq!(store.read_verified(&first.digest, max).unwrap(), data);
    let small = writer.put_bytes(b"tiny").unwrap();
    writer.finish().unwrap();
    assert_eq!(
        store.with_prefix(&small.digest.to_hex()[..6]).unwrap(),
        vec![small.digest]
    );
}

#[test]
/// A command that reads a few thousand objects of a large archive (a `seal` reading its new
/// records) must not load every pack index: memory proportional to the work, not the archive.
fn pack_map_waits_for_lookups_proportional_to_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    FsObjectStore::create_layout(dir.path()).unwrap();
    let store = FsObjectStore::new(dir.path());
    let mut sample = Vec::new();
    for batch in 0..2u32 {
        let writer = store.writer(10_000).unwrap();
        for i in 0..10_000u32 {
            let bytes = [batch.to_le_bytes(), i.to_le_bytes()].concat();
            writer.put_bytes(&bytes).unwrap();
            if i % 160 == 0 {
                sample.push(bytes);
            }
        }
        writer.finish().unwrap();
    }
    assert_eq!(pack::list(&store.packs_dir).unwrap().len(), 2);
    // A new process: the writers above may have loaded the map for their own lookups.
    let store = FsObjectStore::new(dir.path());
    let mapped = || {
        let slot = store.packs.read().unwrap();
        slot.as_ref().is_some_and(|s| s.map.is_some())
    };
    let mut lookups = 0;
    // Past LOOKUPS_BEFORE_MAP, still below a quarter of the 20,000 packed objects.
    while lookups < LOOKUPS_BEFORE_MAP + 100 {
        for bytes in &sample {
            assert_eq!(&store.read_verified(&Digest::of(bytes), 64).unwrap(), bytes);
            lookups += 1;
        }
    }
    assert!(
        !mapped(),
        "map loaded after {lookups} lookups of 20,000 objects"
    );
    // Reading on as verification does, the map pays for itself and is loaded.
    while lookups < 2 * LOOKUPS_BEFORE_MAP + 100 {
        for bytes in &sample {
            assert_eq!(&store.read_verified(&Digest::of(bytes), 64).unwrap(), bytes);
            lookups += 1;
        }
    }
    assert!(mapped(), "no map after {lookups} lookups of 20,000 objects");
}

#[test]
fn large_batches_are_packed_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    FsObjectStore::create_layout(dir.path()).unwrap();
    let store = FsObjectStore::new(dir.path());
    let objects: Vec<Vec<u8>> = (0..PACK_MIN_OBJECTS as u32)
        .map(|i| i.to_le_bytes().repeat(i as usize % 40 + 1))
        .collect();
    let writer = store.writer(objects.len()).unwrap();
    for bytes in &objects {
        assert!(writer.put_bytes(bytes).unwrap().newly_stored);
    }
    assert!(!writer.put_bytes(&objects[0]).unwrap().newly_stored);
    writer.finish().unwrap();
    assert!(fs::read_dir(dir.path().join("sha256"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(pack::list(&store.packs_dir).unwrap().len(), 1);
    // Past the lookup threshold, so both the searching and the in-memory paths are used.
    for _ in 0..(LOOKUPS_BEFORE_MAP / objects.len() + 2) {
        for bytes in &objects {
            let digest = Digest::of(bytes);
            assert_eq!(&store.read_verified(&digest, 1 << 20).unwrap(), bytes);
            assert!(store.contains(&digest).unwrap());
        }
    }
    assert_eq!(store.list().unwrap().len(), objects.len());
    // A second, small batch dedupes against the pack and writes nothing.
    let writer = store.writer(1).unwrap();
    assert!(!writer.put_bytes(&objects[7]).unwrap().newly_stored);
    writer.finish().unwrap();
}
