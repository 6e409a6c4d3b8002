"""torch layers with torch names for MindSpore: what the converter maps torch.nn.MultiheadAttention,
nn.Transformer*, nn.LSTM/GRU/RNN (+ cells), torch.autograd.Function and torch.utils.checkpoint to
(table codemods/mappings/torch_layers.yaml). Parameter names and shapes equal torch's state_dict keys,
so torch weights load by name. Free of torch imports: converted code imports it at run time.
"""

from backends.mindspore.compat_nn.attention import MultiheadAttention, multi_head_attention_forward
from backends.mindspore.compat_nn.autograd import Function, once_differentiable
from backends.mindspore.compat_nn.checkpoint import checkpoint, checkpoint_sequential
from backends.mindspore.compat_nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell
from backends.mindspore.compat_nn.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                                                      TransformerEncoder, TransformerEncoderLayer)

__all__ = ["MultiheadAttention", "multi_head_attention_forward", "Function", "once_differentiable",
           "checkpoint", "checkpoint_sequential", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerEncoderLayer", "RNNBase", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell",
           "RNNCell"]
