"""Every line read from standard input must be an Airbyte protocol message
(airbyte-protocol-models-pdv2); prints the number of lines checked."""
import sys

from airbyte_protocol.models import AirbyteMessage

n = 0
for number, line in enumerate(sys.stdin, 1):
    try:
        AirbyteMessage.model_validate_json(line)
    except Exception as err:  # one line saying which message and why
        sys.exit(f"line {number} is not an Airbyte message: {err}: {line[:300]}")
    n += 1
print(n)
