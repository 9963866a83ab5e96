"""A Rasa 3.6 graph component that bounds the NLU's cost per message: at most `max_tokens` tokens
reach the featurizers and DIET.

    pipeline:
      - name: WhitespaceTokenizer
      - name: rasa_extensions.nlu.token_budget.TokenBudget
        max_tokens: 160
      ...

DIET's transformer costs grow with the square of a message's length (a 20,000-word message took 29 s
and 14 GB before the channels capped texts at 4,096 characters; 4,096 one-letter words are still
2,048 tokens). A longer message keeps its first `head_tokens` tokens (a greeting, the topic) and
the rest of the budget from its end, where people put the request after telling their story. Only
the tokens are cut: the text stays whole, so the rule-based value extractor still finds a phone
number or a reference anywhere in it. Training examples go through the same cut.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def within_budget(tokens: List[Any], max_tokens: int, head_tokens: int) -> List[Any]:
    if len(tokens) <= max_tokens:
        return tokens
    head = min(head_tokens, max_tokens)
    return tokens[:head] + tokens[len(tokens) - (max_tokens - head):]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TokenBudget(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_tokens": 160, "head_tokens": 40}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.max_tokens = int(config["max_tokens"])
        self.head_tokens = int(config["head_tokens"])
        if not 0 < self.head_tokens <= self.max_tokens:
            raise ValueError("TokenBudget needs 0 < head_tokens <= max_tokens")

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TokenBudget":
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        key = TOKENS_NAMES[TEXT]
        for message in messages:
            tokens = message.get(key)
            if tokens and len(tokens) > self.max_tokens:
                message.set(key, within_budget(tokens, self.max_tokens, self.head_tokens))
        return messages
