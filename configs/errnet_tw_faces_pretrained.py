# ERR-Net on the Taiwanese real faces, starting from the ERR-Net that `make demo` trains on
# the synthetic faces (work_dirs/demo/epoch_6.pth: the same encoder, decoder,
# discriminator and pixel branch at the same 48-pixel crops): thousands of synthetic
# identities teach the warp back to the neutral face, the real faces adapt it. Layers
# whose shape differs (the 6-class latent, the landmark branch, the head) start afresh;
# mmengine lists them when it loads.
#   make demo
#   python tools/kfold.py configs/errnet_tw_faces_pretrained.py --folds 10
_base_ = ['./errnet_tw_faces.py']
load_from = 'work_dirs/demo/epoch_6.pth'
