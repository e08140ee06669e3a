use crate::sink::stable_hash;

#[test]
fn stable_hash_is_fnv1a_so_partitions_do_not_move_between_versions() {
    assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(stable_hash(b"foobar"), 0x8594_4171_f739_67e8);
}
