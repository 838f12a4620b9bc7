//! Class-balanced subsets (small, quick experiments).

use super::Split;
use crate::rng::Rng;

impl Split {
    /// `per_class` images of each class `0..num_classes` (all of a class's images when it has
    /// fewer), chosen by a shuffle seeded with `seed`: class by class, the class's indices are
    /// shuffled and the first `per_class` kept. The result keeps the original order of the
    /// chosen images (ascending index), so it is the same for the same seed. Coarse labels are
    /// kept; images whose label is `>= num_classes` are left out.
    pub fn balanced_subset(&self, per_class: usize, num_classes: usize, seed: u64) -> Split {
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
        for (i, &l) in self.labels.iter().enumerate() {
            if let Some(members) = by_class.get_mut(l as usize) {
                members.push(i);
            }
        }
        let mut rng = Rng::new(seed);
        let mut chosen = Vec::with_capacity(per_class.saturating_mul(num_classes).min(self.len()));
        for members in &mut by_class {
            rng.shuffle(members);
            chosen.extend_from_slice(&members[..per_class.min(members.len())]);
        }
        chosen.sort_unstable();
        self.select(&chosen)
    }
}
