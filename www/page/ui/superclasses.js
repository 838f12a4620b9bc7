// The CIFAR-100 superclasses (Krizhevsky 2009): 20 groups of 5 fine classes. The page orders the
// confusion matrix by them, so errors inside a superclass ("closer" wrong answers) sit in blocks.
const GROUPS = {
  'aquatic mammals': ['beaver', 'dolphin', 'otter', 'seal', 'whale'],
  fish: ['aquarium_fish', 'flatfish', 'ray', 'shark', 'trout'],
  flowers: ['orchid', 'poppy', 'rose', 'sunflower', 'tulip'],
  'food containers': ['bottle', 'bowl', 'can', 'cup', 'plate'],
  'fruit and vegetables': ['apple', 'mushroom', 'orange', 'pear', 'sweet_pepper'],
  'household electrical devices': ['clock', 'keyboard', 'lamp', 'telephone', 'television'],
  'household furniture': ['bed', 'chair', 'couch', 'table', 'wardrobe'],
  insects: ['bee', 'beetle', 'butterfly', 'caterpillar', 'cockroach'],
  'large carnivores': ['bear', 'leopard', 'lion', 'tiger', 'wolf'],
  'large man-made outdoor things': ['bridge', 'castle', 'house', 'road', 'skyscraper'],
  'large natural outdoor scenes': ['cloud', 'forest', 'mountain', 'plain', 'sea'],
  'large omnivores and herbivores': ['camel', 'cattle', 'chimpanzee', 'elephant', 'kangaroo'],
  'medium-sized mammals': ['fox', 'porcupine', 'possum', 'raccoon', 'skunk'],
  'non-insect invertebrates': ['crab', 'lobster', 'snail', 'spider', 'worm'],
  people: ['baby', 'boy', 'girl', 'man', 'woman'],
  reptiles: ['crocodile', 'dinosaur', 'lizard', 'snake', 'turtle'],
  'small mammals': ['hamster', 'mouse', 'rabbit', 'shrew', 'squirrel'],
  trees: ['maple_tree', 'oak_tree', 'palm_tree', 'pine_tree', 'willow_tree'],
  'vehicles 1': ['bicycle', 'bus', 'motorcycle', 'pickup_truck', 'train'],
  'vehicles 2': ['lawn_mower', 'rocket', 'streetcar', 'tank', 'tractor'],
};
// Fine label k of the official files is the k-th name in alphabetical order.
const FINE = Object.values(GROUPS).flat().sort();

/** For 100 classes: { order (class indices grouped by superclass), groups: [{name, size}] }; else null.
 *  Classes are matched by name, or by index when the data set has no names ("class 7"). */
export function superclassOrder(classes) {
  if (classes.length !== 100) return null;
  const norm = (c) => String(c).trim().toLowerCase().replace(/[\s-]+/g, '_');
  const byName = new Map(classes.map((c, i) => [norm(c), i]));
  const named = FINE.every((f) => byName.has(f));
  const index = (f) => (named ? byName.get(f) : FINE.indexOf(f));
  const order = [], groups = [];
  for (const [name, fine] of Object.entries(GROUPS)) {
    order.push(...fine.map(index));
    groups.push({ name, size: fine.length });
  }
  return { order, groups };
}
