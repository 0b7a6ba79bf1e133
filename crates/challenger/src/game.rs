//! The search for the first wrong step leaf (`docs/fraud-proofs.md` §5.4), as pure logic.
//!
//! Only `stepsRoot` of a batch is on L1. The challenger knows its own (honest) leaves; of the
//! poster's tree it knows the nodes revealed so far: every opened leaf reveals itself and the
//! siblings on its path, and a leaf list served by the poster that hashes to `stepsRoot` reveals
//! everything. [`Knowledge::next`] walks down from the root towards the leftmost leaf where the
//! poster's tree and the honest one differ, and says what to do: open a leaf (the leftmost of the
//! subtree it cannot see into, whose path reveals the whole left spine of that subtree at once),
//! or which proof to send.
//!
//! The honest tree is compared in the poster's shape: `stepCount` leaves, padded with zeros to
//! a power of two. Position `i < stepCount` holds the honest leaf when the honest replay has one
//! there; positions from where the honest replay ends (data exhausted, or a step that cannot be
//! in a batch) up to `stepCount` have no honest leaf at all: any poster leaf there is wrong.

use std::collections::HashMap;

use alloy::primitives::{B256, keccak256};
use loft_stf::StepLeaf;

/// `keccak256(left ‖ right)`, the node hash of every positional tree.
fn node(left: B256, right: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// Depth of the step tree of `count` leaves: `ceil(log2(count))` (0 for one leaf).
pub fn tree_depth(count: u64) -> u32 {
    let mut d = 0;
    while (1u64 << d) < count {
        d += 1;
    }
    d
}

/// A node of the step tree: `level` 0 is the leaves; node `(l, i)` covers leaves
/// `i·2^l .. (i+1)·2^l`.
pub type NodeId = (u32, u64);

/// What the challenger should do next about one wrong batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Ask the poster to open leaf `step` (`requestOpening`).
    Open(u64),
    /// `proveStep(header, step, prev, prevProof, leaf, leafProof, witness)`: the witness comes
    /// from the honest state after step `step - 1`.
    ProveStep {
        /// The wrong step.
        step: u64,
        /// Leaf `step - 1` (the initial leaf for step 0).
        prev: StepLeaf,
        /// Its path (empty for step 0).
        prev_proof: Vec<B256>,
        /// The poster's leaf `step`.
        leaf: StepLeaf,
        /// Its path.
        leaf_proof: Vec<B256>,
    },
    /// `proveLastLeaf(header, leaf, proof)`: the last leaf contradicts the header.
    ProveLastLeaf {
        /// Leaf `stepCount - 1`.
        leaf: StepLeaf,
        /// Its path.
        proof: Vec<B256>,
    },
    /// `proveStepCount(header, step, leafHash, proof)`: a zero leaf below `stepCount`, or a
    /// non-zero one past it.
    ProveStepCount {
        /// Position.
        step: u64,
        /// The poster's leaf hash there.
        leaf_hash: B256,
        /// Its path.
        proof: Vec<B256>,
    },
    /// The poster's tree equals the honest one and its last leaf agrees with the header: there is
    /// nothing to prove (the caller's verdict was wrong).
    NothingToProve,
    /// The trees differ only inside the padding past `stepCount`, in a node no opening can reveal
    /// (L1 opens leaves below `stepCount` only). Every step and the header agree with the honest
    /// replay, so the batch's effects are right; the odd tree is not provable and harmless.
    Unprovable(NodeId),
}

/// What is known of one batch's two trees.
#[derive(Debug, Clone)]
pub struct Knowledge {
    steps_root: B256,
    count: u64,
    depth: u32,
    initial: StepLeaf,
    honest: Vec<StepLeaf>,
    honest_hashes: Vec<B256>,
    /// Revealed nodes of the poster's tree.
    poster: HashMap<NodeId, B256>,
    /// Opened leaves of the poster's tree (their preimages).
    opened: HashMap<u64, StepLeaf>,
    /// Zero-subtree hashes by level.
    zeros: Vec<B256>,
}

impl Knowledge {
    /// A batch with `steps_root` over `count` leaves, whose initial leaf is `initial`, against the
    /// honest replay's `honest` leaves (as far as it got).
    pub fn new(steps_root: B256, count: u64, initial: StepLeaf, honest: Vec<StepLeaf>) -> Self {
        let depth = tree_depth(count.max(1));
        let mut zeros = vec![B256::ZERO];
        for l in 0..depth as usize {
            zeros.push(node(zeros[l], zeros[l]));
        }
        let honest_hashes = honest.iter().map(StepLeaf::hash).collect();
        let mut poster = HashMap::new();
        poster.insert((depth, 0), steps_root);
        Self {
            steps_root,
            count,
            depth,
            initial,
            honest,
            honest_hashes,
            poster,
            opened: HashMap::new(),
            zeros,
        }
    }

    /// The poster's tree depth.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Whether leaf `i` was opened (its preimage is known).
    pub fn is_opened(&self, i: u64) -> bool {
        self.opened.contains_key(&i)
    }

    /// Learns an opened leaf and its path; ignores (returns false) one that does not verify.
    pub fn learn_opening(&mut self, i: u64, leaf: StepLeaf, proof: &[B256]) -> bool {
        if proof.len() != self.depth as usize || (self.depth < 64 && i >> self.depth != 0) {
            return false;
        }
        let mut nodes = Vec::with_capacity(2 * proof.len() + 1);
        let mut h = leaf.hash();
        nodes.push(((0, i), h));
        for (l, sibling) in proof.iter().enumerate() {
            let idx = i >> l;
            nodes.push(((l as u32, idx ^ 1), *sibling));
            h = if idx & 1 == 0 {
                node(h, *sibling)
            } else {
                node(*sibling, h)
            };
            nodes.push(((l as u32 + 1, idx >> 1), h));
        }
        if h != self.steps_root {
            return false;
        }
        self.poster.extend(nodes);
        self.opened.insert(i, leaf);
        self.infer_zero_children();
        true
    }

    /// Zero leaves have no preimage, so a poster cannot open them; but a known node that is the
    /// hash of a known child and a zero subtree (or of two zero subtrees) reveals its unknown
    /// children as zero subtrees. Repeats until nothing new is learned.
    fn infer_zero_children(&mut self) {
        loop {
            let mut learned = Vec::new();
            for (&(level, idx), &value) in &self.poster {
                if level == 0 {
                    continue;
                }
                let left = (level - 1, 2 * idx);
                let right = (level - 1, 2 * idx + 1);
                let zero = self.zeros[level as usize - 1];
                match (self.poster.get(&left), self.poster.get(&right)) {
                    (Some(_), Some(_)) => {}
                    (Some(l), None) if node(*l, zero) == value => learned.push((right, zero)),
                    (None, Some(r)) if node(zero, *r) == value => learned.push((left, zero)),
                    (None, None) if node(zero, zero) == value => {
                        learned.push((left, zero));
                        learned.push((right, zero));
                    }
                    _ => {}
                }
            }
            if learned.is_empty() {
                return;
            }
            self.poster.extend(learned);
        }
    }

    /// The leaf to open to reveal node `n`: the leftmost leaf of `n` (its path runs through `n`),
    /// else of its sibling (whose path has `n` as a sibling); `None` when both lie past
    /// `stepCount` (L1 opens only leaves below it).
    fn reveal(&self, (level, idx): NodeId) -> Option<u64> {
        [idx << level, (idx ^ 1) << level]
            .into_iter()
            .find(|&leaf| leaf < self.count)
    }

    /// Learns a full leaf list the poster served: true if it hashes to `stepsRoot` (padded to the
    /// header's shape; a list shorter than `stepCount` stands for zero leaves after it).
    pub fn learn_all(&mut self, leaves: &[StepLeaf]) -> bool {
        let size = 1u64 << self.depth;
        if leaves.len() as u64 > size {
            return false;
        }
        let mut level: Vec<B256> = leaves.iter().map(StepLeaf::hash).collect();
        level.resize(size as usize, B256::ZERO);
        let mut all = Vec::new();
        for l in 0..=self.depth {
            for (i, h) in level.iter().enumerate() {
                all.push(((l, i as u64), *h));
            }
            if l < self.depth {
                level = level.chunks(2).map(|p| node(p[0], p[1])).collect();
            }
        }
        if level[0] != self.steps_root {
            return false;
        }
        self.poster.extend(all);
        for (i, leaf) in leaves.iter().enumerate() {
            self.opened.insert(i as u64, *leaf);
        }
        self.infer_zero_children();
        true
    }

    /// The honest comparison value at leaf `i` in the poster's shape: `None` where the honest
    /// replay has no leaf although the poster claims one.
    fn honest_leaf(&self, i: u64) -> Option<B256> {
        if i >= self.count {
            Some(B256::ZERO)
        } else {
            self.honest_hashes.get(i as usize).copied()
        }
    }

    /// The honest comparison value of a node, `None` if it covers a position without one.
    fn honest_node(&self, (level, idx): NodeId) -> Option<B256> {
        let first = idx << level;
        if first >= self.count {
            return Some(self.zeros[level as usize]);
        }
        if level == 0 {
            return self.honest_leaf(idx);
        }
        let left = self.honest_node((level - 1, 2 * idx))?;
        let right = self.honest_node((level - 1, 2 * idx + 1))?;
        Some(node(left, right))
    }

    /// The leftmost leaf where the two trees differ (`Ok`), or the node to reveal to see further
    /// (`Err`); `Ok(None)` when the trees are equal.
    fn first_difference(&self) -> Result<Option<u64>, NodeId> {
        let root = (self.depth, 0);
        if self.honest_node(root) == Some(self.steps_root) {
            return Ok(None);
        }
        let (mut level, mut idx) = root;
        while level > 0 {
            let left = (level - 1, 2 * idx);
            let right = (level - 1, 2 * idx + 1);
            let Some(&poster_left) = self.poster.get(&left) else {
                return Err(left);
            };
            if self.honest_node(left) != Some(poster_left) {
                (level, idx) = left;
            } else if self.poster.contains_key(&right) {
                (level, idx) = right;
            } else {
                return Err(right);
            }
        }
        Ok(Some(idx))
    }

    /// The poster's path of leaf `i`, from revealed nodes and from honest subtrees that lie wholly
    /// before `agree_before` (where the trees are known equal). `Err` names a missing sibling.
    fn poster_path(&self, i: u64, agree_before: u64) -> Result<Vec<B256>, NodeId> {
        let mut path = Vec::with_capacity(self.depth as usize);
        for l in 0..self.depth {
            let sibling = (l, (i >> l) ^ 1);
            let value = match self.poster.get(&sibling) {
                Some(v) => Some(*v),
                None if (sibling.1 + 1) << l <= agree_before => self.honest_node(sibling),
                None => None,
            };
            match value {
                Some(v) => path.push(v),
                None => return Err(sibling),
            }
        }
        Ok(path)
    }

    /// Open the leaf that reveals `n`, if L1 lets us.
    fn open(&self, n: NodeId) -> Plan {
        match self.reveal(n) {
            Some(leaf) => Plan::Open(leaf),
            None => Plan::Unprovable(n),
        }
    }

    /// What to do next.
    pub fn next(&self) -> Plan {
        match self.first_difference() {
            Err(n) => self.open(n),
            Ok(None) => {
                // Equal trees (padding included): only the last leaf can contradict the header.
                let last = self.count.saturating_sub(1);
                let everything = 1u64 << self.depth;
                match (
                    self.honest.get(last as usize),
                    self.poster_path(last, everything),
                ) {
                    (Some(leaf), Ok(proof)) => Plan::ProveLastLeaf { leaf: *leaf, proof },
                    _ => Plan::NothingToProve,
                }
            }
            Ok(Some(j)) => {
                let leaf_hash = self.poster[&(0, j)];
                let leaf_proof = match self.poster_path(j, j) {
                    Ok(p) => p,
                    Err(n) => return self.open(n),
                };
                if j >= self.count || leaf_hash == B256::ZERO {
                    return Plan::ProveStepCount {
                        step: j,
                        leaf_hash,
                        proof: leaf_proof,
                    };
                }
                let Some(leaf) = self.opened.get(&j).copied() else {
                    return self.open((0, j));
                };
                let (prev, prev_proof) = if j == 0 {
                    (self.initial, Vec::new())
                } else {
                    match self.poster_path(j - 1, j) {
                        Ok(p) => (self.honest[j as usize - 1], p),
                        Err(n) => return self.open(n),
                    }
                };
                Plan::ProveStep {
                    step: j,
                    prev,
                    prev_proof,
                    leaf,
                    leaf_proof,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loft_stf::{STEP_BLOCK, STEP_TX, steps_proof, verify_step_leaf};
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<StepLeaf> {
        (0..n)
            .map(|i| StepLeaf {
                kind: if i == 0 { STEP_BLOCK } else { STEP_TX },
                queue_pos: 0,
                data_end: 2 + i as u64,
                w_count: 0,
                w_root: B256::ZERO,
                state_root: keccak256((i as u64).to_be_bytes()),
            })
            .collect()
    }

    /// A poster that answers every opening from `poster` (its leaves, zero-padded to `count`),
    /// driven until a proof comes out; returns the plan and the openings it took.
    fn play(honest: &[StepLeaf], poster: &[StepLeaf], count: u64) -> (Plan, usize) {
        let mut hashes: Vec<B256> = poster.iter().map(StepLeaf::hash).collect();
        hashes.resize(count as usize, B256::ZERO);
        let root = loft_stf::positional_root(&hashes);
        hashes.resize(1 << tree_depth(count), B256::ZERO);
        let initial = StepLeaf::initial(0, B256::repeat_byte(7));
        let mut k = Knowledge::new(root, count, initial, honest.to_vec());
        let mut openings = 0;
        loop {
            match k.next() {
                Plan::Open(i) => {
                    openings += 1;
                    assert!(openings < 200, "the search does not converge");
                    assert!(i < count, "L1 opens only leaves below stepCount");
                    // A zero leaf has no preimage: the poster could not answer.
                    assert_ne!(
                        hashes[i as usize],
                        B256::ZERO,
                        "asked to open a zero leaf {i}"
                    );
                    let leaf = poster[i as usize];
                    let proof = loft_stf::positional_proof(&hashes, i as usize).unwrap();
                    assert!(k.learn_opening(i, leaf, &proof));
                }
                plan => {
                    // Every path in a plan must verify against the poster's root.
                    match &plan {
                        Plan::ProveStep {
                            step,
                            prev,
                            prev_proof,
                            leaf,
                            leaf_proof,
                        } => {
                            assert!(verify_step_leaf(root, *step, leaf, leaf_proof));
                            if *step > 0 {
                                assert!(verify_step_leaf(root, step - 1, prev, prev_proof));
                                assert_eq!(*prev, honest[*step as usize - 1]);
                            }
                        }
                        Plan::ProveLastLeaf { leaf, proof } => {
                            assert!(verify_step_leaf(root, count - 1, leaf, proof));
                        }
                        Plan::ProveStepCount {
                            step,
                            leaf_hash,
                            proof,
                        } => {
                            assert!(loft_stf::verify_positional(root, *step, *leaf_hash, proof));
                        }
                        _ => {}
                    }
                    return (plan, openings);
                }
            }
        }
    }

    #[test]
    fn one_wrong_leaf_is_found_by_openings() {
        let honest = leaves(37);
        for wrong in [0usize, 1, 17, 31, 32, 36] {
            let mut poster = honest.clone();
            for leaf in &mut poster[wrong..] {
                leaf.state_root = B256::repeat_byte(0xee);
            }
            let (plan, openings) = play(&honest, &poster, 37);
            match plan {
                Plan::ProveStep { step, .. } => assert_eq!(step, wrong as u64),
                p => panic!("wrong {wrong}: {p:?}"),
            }
            assert!(openings <= 8, "{openings} openings for 37 leaves");
        }
    }

    #[test]
    fn equal_trees_prove_the_last_leaf() {
        let honest = leaves(5);
        let (plan, openings) = play(&honest, &honest, 5);
        assert_eq!(openings, 0);
        assert!(matches!(plan, Plan::ProveLastLeaf { ref leaf, .. } if *leaf == honest[4]));
        // A poster that claims fewer steps than the data holds: its last leaf stops short.
        let (plan, _) = play(&honest, &honest[..3], 3);
        assert!(matches!(plan, Plan::ProveLastLeaf { ref leaf, .. } if *leaf == honest[2]));
    }

    #[test]
    fn a_zero_leaf_below_the_count_is_a_step_count_proof() {
        let honest = leaves(6);
        let (plan, _) = play(&honest, &honest, 7);
        match plan {
            Plan::ProveStepCount {
                step, leaf_hash, ..
            } => {
                assert_eq!(step, 6);
                assert_eq!(leaf_hash, B256::ZERO);
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn leaves_past_the_honest_end_are_wrong() {
        // The honest replay stopped at step 4 (a step that cannot be in a batch); the poster
        // claims 9 steps.
        let honest = leaves(4);
        let poster = leaves(9);
        let (plan, _) = play(&honest, &poster, 9);
        assert!(matches!(plan, Plan::ProveStep { step: 4, .. }), "{plan:?}");
    }

    #[test]
    fn a_served_list_needs_no_openings() {
        let honest = leaves(20);
        let mut poster = honest.clone();
        poster[12].state_root = B256::repeat_byte(1);
        let hashes: Vec<B256> = poster.iter().map(StepLeaf::hash).collect();
        let root = loft_stf::positional_root(&hashes);
        let mut k = Knowledge::new(root, 20, StepLeaf::default(), honest.clone());
        assert!(
            !k.learn_all(&honest),
            "a list that is not the poster's is refused"
        );
        assert!(k.learn_all(&poster));
        match k.next() {
            Plan::ProveStep {
                step, leaf, prev, ..
            } => {
                assert_eq!(step, 12);
                assert_eq!(leaf, poster[12]);
                assert_eq!(prev, honest[11]);
            }
            p => panic!("{p:?}"),
        }
        // Proof paths match the tree's own.
        if let Plan::ProveStep { leaf_proof, .. } = k.next() {
            assert_eq!(leaf_proof, steps_proof(&poster, 12).unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_tampering_is_pinned_to_its_first_wrong_leaf(
            n in 1usize..70,
            first in 0usize..70,
            mask in proptest::collection::vec(any::<bool>(), 70),
        ) {
            let honest = leaves(n);
            let first = first % n;
            let mut poster = honest.clone();
            poster[first].data_end += 1000;
            for (i, leaf) in poster.iter_mut().enumerate().skip(first + 1) {
                if mask[i] {
                    leaf.state_root = B256::repeat_byte(3);
                }
            }
            let (plan, openings) = play(&honest, &poster, n as u64);
            let depth = tree_depth(n as u64) as usize;
            prop_assert!(openings <= depth + 3, "{} openings at depth {}", openings, depth);
            match plan {
                Plan::ProveStep { step, .. } => prop_assert_eq!(step, first as u64),
                p => prop_assert!(false, "{:?}", p),
            }
        }
    }
}
