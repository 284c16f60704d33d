// Loads every gradient rule into the registry (each file registers its operators on import).
import './arithmetic';
import './unary';
import './elementary';
import './matmul';
import './einsum';
import './layout';
import './indexing';
import './padding';
import './reduce';
import './conv';
import './convTranspose';
import './pool';
import './resize';
import './norm';
import './loss';
