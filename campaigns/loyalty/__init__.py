"""Loyalty programs, split by sub-domain: members, the points ledger, tiers, earning rules, rewards.

Every change to a card's points takes a row lock on its `LoyaltyCard` first (`ledger.lock_card`), so
concurrent balance changes, earnings, reward redemptions and the expiry sweep serialise per card and
the voucher's `loyalty_points` / `loyalty_balance` always equal the card's buckets.
"""
