"""Networks named after the paper's symbols: T_I (translation.py: E_v, E_i, G_v, G_i,
D_v, D_i) and T_F (embedding.py)."""
