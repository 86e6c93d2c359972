"""People: users, sign-in, tokens, and jurisdiction (who may see and do what, and where).

May import: gridsvc.network and below.
"""
