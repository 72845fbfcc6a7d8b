"""The trainers: T_I alone (:mod:`.ti`), T_F (:mod:`.tf`), D2RL's joint update of both
(:mod:`.joint`), and one method trained end to end in named phases (:mod:`.run`)."""
