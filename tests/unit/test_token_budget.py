from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_extensions.nlu.token_budget import TokenBudget, within_budget


def test_a_long_message_keeps_its_head_and_its_end():
    tokens = list(range(1000))
    kept = within_budget(tokens, 160, 40)
    assert len(kept) == 160 and kept[:40] == list(range(40)) and kept[40:] == list(range(880, 1000))
    assert within_budget(tokens[:100], 160, 40) == list(range(100))


def test_the_component_cuts_tokens_but_not_the_text():
    text = " ".join(f"kata{i}" for i in range(5000)) + " 081234567890"
    message = Message({TEXT: text})
    message.set(TOKENS_NAMES[TEXT], [Token(word, 0) for word in text.split()])
    [processed] = TokenBudget(TokenBudget.get_default_config()).process([message])
    tokens = processed.get(TOKENS_NAMES[TEXT])
    assert len(tokens) == 160 and tokens[-1].text == "081234567890"
    assert processed.get(TEXT) == text
