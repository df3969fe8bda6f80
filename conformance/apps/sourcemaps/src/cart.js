// The source-map cells' app: bundled and minified by esbuild, its error thrown two calls deep so
// that original names and lines are visible in the frames read back.
export function chargeCustomerCard(amount, marker) {
  if (amount > 10) {
    throw new TypeError(`conformance sourcemap ${marker}`);
  }
  return amount;
}
