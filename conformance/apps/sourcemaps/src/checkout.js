import { chargeCustomerCard } from './cart.js';

export function checkoutCart(items, marker) {
  const total = items.reduce((sum, item) => sum + item.price, 0);
  return chargeCustomerCard(total, marker);
}
