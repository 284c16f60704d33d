// Loads every gradient rule into the registry (each file registers its operators on import).
import './arithmetic';
import './unary';
import './matmul';
import './layout';
import './reduce';
import './conv';
import './pool';
import './norm';
import './loss';
