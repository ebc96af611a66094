"""Who is calling and what they may see: passwords, tokens, WeChat login, the caller (Actor) and
every visibility rule.
"""
