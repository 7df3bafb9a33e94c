//! The system generator's per-thread block: every request gets fresh bytes, whatever its size,
//! across block boundaries and threads.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use kmid_crypto::{Random, SystemRandom};

#[test]
fn no_two_requests_get_the_same_bytes() {
    let mut seen = HashSet::new();
    // 16-byte requests cross many 512-byte blocks; 64 is the largest pooled size, 65 is not.
    for len in [16usize, 16, 32, 64, 65, 1000, 7, 64, 16] {
        for _ in 0..200 {
            let mut buf = vec![0u8; len];
            SystemRandom.fill(&mut buf).unwrap();
            assert!(seen.insert(buf), "a repeated {len}-byte draw");
        }
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                (0..100)
                    .map(|_| {
                        let mut buf = [0u8; 16];
                        SystemRandom.fill(&mut buf).unwrap();
                        buf.to_vec()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for buf in t.join().unwrap() {
            assert!(seen.insert(buf), "a draw repeated across threads");
        }
    }
    let mut empty = [0u8; 0];
    SystemRandom.fill(&mut empty).unwrap();
}
