"""The one exception type of the data layer.

Every reader and the pipeline raise `DataError` for bad input, with a message that
names the file (and line or field) and what was expected, so a user fixes the data
instead of reading a TensorFlow traceback.
"""


from dsan_tf.errors import UserError


class DataError(UserError, ValueError):
    """Bad or missing input data; the message names the file/line/field at fault."""
