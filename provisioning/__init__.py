"""Room provisioning: sample and template meeting packages.

Later also keys, tablet enrollment and USB import/export. May import room_protocol only.
"""
