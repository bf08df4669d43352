"""The embedded synthetic face set: procedural faces with exact landmarks.

Random identities (:mod:`~errkit.synthetic.identity`) perform FACS-based
expression prototypes (:mod:`~errkit.synthetic.expressions`), drawn by
:class:`~errkit.synthetic.renderer.FaceRenderer` and written in the CK+ layout
by :func:`~errkit.synthetic.generator.generate_synthetic_ckplus` through
:func:`~errkit.synthetic.ckplus_writer.write_ckplus_sequence`, the writer of the
CK+ on-disk layout (which :class:`~errkit.datasets.CKPlusDataset` reads).
"""
from errkit.synthetic.ckplus_writer import write_ckplus_sequence
from errkit.synthetic.expressions import (ACTION_UNITS, EXPRESSIONS, PROTOTYPES, UNILATERAL,
                                          ExpressionStyle, action_unit_field,
                                          expression_displacement, sample_expression_style)
from errkit.synthetic.generator import (GENERATOR_VERSION, META_FILE, SyntheticFaceConfig,
                                        generate_synthetic_ckplus, ramp, render_identity)
from errkit.synthetic.identity import (HAIR_STYLES, FaceIdentity, sample_face_shape,
                                       sample_identity)
from errkit.synthetic.provenance import is_synthetic_image, synthetic_set_root
from errkit.synthetic.renderer import FaceRenderer, catmull_rom

__all__ = [
    'ACTION_UNITS', 'EXPRESSIONS', 'PROTOTYPES', 'UNILATERAL', 'ExpressionStyle',
    'action_unit_field', 'expression_displacement', 'sample_expression_style',
    'GENERATOR_VERSION', 'META_FILE', 'SyntheticFaceConfig', 'generate_synthetic_ckplus',
    'ramp', 'render_identity', 'HAIR_STYLES', 'FaceIdentity', 'sample_face_shape',
    'sample_identity', 'FaceRenderer', 'catmull_rom', 'write_ckplus_sequence',
    'is_synthetic_image', 'synthetic_set_root',
]
