"""The four-step "Create distribution" wizard (Trigger, Action, Channels, Summary) in the dashboard.

Every step saves straight into the distribution (a draft until Save & Send) through
`distributions.services`, so a reload, the back button or another device resumes where it was.
"""
