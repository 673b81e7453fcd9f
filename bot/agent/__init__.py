"""Penny's LLM agent: model providers, the agent factory, the approval gate, sessions, usage.

Entry points: `bot.agent.service.answer_question` (the LLM path of a question) and
`bot.agent.service.attach` (composition root). Nothing is imported here, so the usage
accounting can be used without loading Strands.
"""
